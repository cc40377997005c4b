// The load balancer's part of the YAML config (`loadBalancer:`) and the
// port option `decap:`, as the user writes them. Shapes and ranges only;
// load-balancer.ts checks what needs the whole config (prime table sizes,
// overlapping VIPs, backends on connected subnets) and compiles them into
// src/lb/lb-config.ts's types.
import { z } from 'zod';
import { LB_HASH_INPUTS, LB_MODES } from '../lb/lb-config.js';
import { choiceError, discriminatorError } from './zod-issue.js';

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
/** A VIP's name shows in counters and logs: letters, digits, "-", "_", "." (at most 63), starting and ending alphanumeric. */
const VIP_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
/** An HTTP request target: "/" then visible ASCII only, so nothing can end the request line early. */
const HTTP_PATH = /^\/[\x21-\x7e]*$/;

const ipv4String = z.string().regex(IPV4, 'must be a dotted-quad IPv4 address such as 192.0.2.1');
const whole = () => z.number().int('must be a whole number');
const portNumber = whole().min(1, 'must be 1-65535').max(65535, 'must be 1-65535');

/** Health-check defaults (the example values). */
export const HEALTH_CHECK_DEFAULTS = { intervalMs: 1000, timeoutMs: 500, rise: 2, fall: 3, path: '/', expectStatus: 200 } as const;
/** Kubernetes' sessionAffinityConfig.clientIP.timeoutSeconds default (3 hours) and its upper bound (1 day). */
export const AFFINITY_TIMEOUT_SECONDS = { default: 10800, max: 86400 } as const;
export const DYNAMIC_WEIGHTS_DEFAULTS = { intervalMs: 5000, maxSlotShare: 0.01 } as const;
/** Backend weight range: 0 drains; a 16-bit weight is plenty of resolution for Maglev's permutation turns. */
export const MAX_BACKEND_WEIGHT = 65535;

// What every probe shares. The timeout is checked against the interval in load-balancer.ts (a refine here would hide the field's name).
const probeTiming = {
  intervalMs: whole().min(10, 'must be at least 10').max(3_600_000, 'must be at most 3600000').default(HEALTH_CHECK_DEFAULTS.intervalMs),
  timeoutMs: whole().min(1, 'must be at least 1').max(3_600_000, 'must be at most 3600000').default(HEALTH_CHECK_DEFAULTS.timeoutMs),
  /** Consecutive successes that bring a backend up. */
  rise: whole().min(1, 'must be at least 1').max(1000, 'must be at most 1000').default(HEALTH_CHECK_DEFAULTS.rise),
  /** Consecutive failures that take it down. */
  fall: whole().min(1, 'must be at least 1').max(1000, 'must be at most 1000').default(HEALTH_CHECK_DEFAULTS.fall),
};

export const healthCheckSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('tcp'), /** Default: the VIP's port. */ port: portNumber.optional(), ...probeTiming }).strict(),
  z
    .object({
      type: z.literal('http'),
      port: portNumber.optional(),
      path: z.string().regex(HTTP_PATH, 'must start with "/" and hold no spaces or control characters').default(HEALTH_CHECK_DEFAULTS.path),
      expectStatus: whole().min(100, 'must be an HTTP status 100-599').max(599, 'must be an HTTP status 100-599').default(HEALTH_CHECK_DEFAULTS.expectStatus),
      ...probeTiming,
    })
    .strict(),
  // ICMP echo has no port: a port given is named as an unknown field.
  z.object({ type: z.literal('icmp'), ...probeTiming }).strict(),
], { error: discriminatorError('type') });

export const backendSchema = z
  .object({
    address: ipv4String,
    weight: whole().min(0, `must be 0-${MAX_BACKEND_WEIGHT} (0 drains the backend)`).max(MAX_BACKEND_WEIGHT, `must be 0-${MAX_BACKEND_WEIGHT}`).default(1),
  })
  .strict();

export const vipSchema = z
  .object({
    name: z.string().regex(VIP_NAME, 'must be 1-63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit'),
    address: ipv4String,
    protocol: z.enum(['tcp', 'udp'], { error: choiceError('must be tcp or udp') }),
    /** Absent: every port of the address. */
    port: whole().min(1, 'must be 1-65535 (leave port out for all ports)').max(65535, 'must be 1-65535').optional(),
    mode: z.enum(LB_MODES, { error: choiceError(`must be one of ${LB_MODES.join(', ')}`) }),
    /** Range and primality are checked in load-balancer.ts, with the backends in view. */
    tableSize: whole().optional(),
    hash: z.enum(LB_HASH_INPUTS, { error: `must be one of ${LB_HASH_INPUTS.join(', ')}` }).default('five-tuple'),
    affinity: z
      .object({
        // Kubernetes spells it ClientIP; the issue writes clientIP. No default, though it is the only kind: as
        // Kubernetes refuses a sessionAffinityConfig unless sessionAffinity says ClientIP, an affinity block
        // must say which affinity it is (and none is said by leaving the block out, Kubernetes' None).
        type: z.enum(['clientIP', 'ClientIP'], {
          error: choiceError(
            'must be clientIP (Kubernetes sessionAffinity: ClientIP); for no affinity (sessionAffinity: None) leave affinity out',
            'required field missing: write type: clientIP (Kubernetes sessionAffinity: ClientIP), or leave affinity out for none',
          ),
        }),
        timeoutSeconds: whole()
          .min(1, `must be 1-${AFFINITY_TIMEOUT_SECONDS.max} (Kubernetes' range)`)
          .max(AFFINITY_TIMEOUT_SECONDS.max, `must be 1-${AFFINITY_TIMEOUT_SECONDS.max} (Kubernetes' range)`)
          .default(AFFINITY_TIMEOUT_SECONDS.default),
        /** Clients under one prefix of this length share a backend. */
        sourcePrefixLength: whole().min(0, 'must be 0-32').max(32, 'must be 0-32').default(32),
      })
      .strict()
      .optional(),
    healthCheck: healthCheckSchema.optional(),
    dynamicWeights: z
      .object({
        signal: z.enum(['flows', 'latency', 'both'], { error: choiceError('must be flows, latency or both') }),
        intervalMs: whole().min(100, 'must be at least 100').max(3_600_000, 'must be at most 3600000').default(DYNAMIC_WEIGHTS_DEFAULTS.intervalMs),
        maxSlotShare: z.number().gt(0, 'must be above 0 (and at most 1)').max(1, 'must be at most 1 (the whole table)').default(DYNAMIC_WEIGHTS_DEFAULTS.maxSlotShare),
      })
      .strict()
      .optional(),
    /** nat mode only (load-balancer.ts says so for other modes). */
    snat: z.boolean().optional(),
    /** dsr-gue only. */
    guePort: portNumber.optional(),
    backends: z.array(backendSchema).min(1, 'must list at least one backend'),
  })
  .strict();

/**
 * The section as configSchema takes it: each VIP is checked on its own with
 * vipSchema by load-balancer.ts, so a broken VIP keeps its index in messages
 * and does not hide the problems of the others.
 */
export const loadBalancerSchema = z
  .object({
    vips: z.array(z.unknown()).min(1, 'must list at least one VIP (leave loadBalancer out for none)'),
  })
  .strict();

/** `decap: true` (IPIP and GUE on the default GUE port), `false` (none), or which ones. */
export const decapSchema = z.union(
  [
    z.boolean(),
    z
      .object({
        ipip: z.boolean().default(false),
        gue: z.boolean().default(false),
        guePort: portNumber.optional(),
      })
      .strict(),
  ],
  { error: 'must be true, false or { ipip: BOOL, gue: BOOL, guePort: PORT }' },
);

export type RawLoadBalancer = z.infer<typeof loadBalancerSchema>;
export type RawVip = z.infer<typeof vipSchema>;
export type RawDecap = z.infer<typeof decapSchema>;
