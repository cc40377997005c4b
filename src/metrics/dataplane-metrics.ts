// The dataplane's Prometheus metrics: one prom-client Registry with the
// families the config calls for (flow table, NAT, firewall and load balancer
// only when configured), every value read from the source at scrape time.
import { Registry } from 'prom-client';
import { registerDropMetrics } from './drop-metrics.js';
import { registerFirewallMetrics } from './firewall-metrics.js';
import { registerFlowMetrics } from './flow-metrics.js';
import { registerIcmpMetrics } from './icmp-metrics.js';
import { registerLbMetrics } from './lb-metrics.js';
import { registerNatMetrics } from './nat-metrics.js';
import { registerPortMetrics } from './port-metrics.js';
import { ScrapeReading, type MetricsSource } from './source.js';
import { registerWorkerMetrics } from './worker-metrics.js';

export class DataplaneMetrics {
  readonly registry = new Registry();
  private readonly reading: ScrapeReading;

  constructor(source: MetricsSource) {
    this.reading = new ScrapeReading(source);
    const ctx = { registry: this.registry, reading: this.reading };
    const { config, registry } = source;
    registerPortMetrics(ctx, config.ports.map((p) => p.name));
    registerDropMetrics(ctx, registry);
    registerIcmpMetrics(ctx, registry);
    if (source.nat() !== undefined) registerFlowMetrics(ctx, registry);
    if (config.nat !== undefined) registerNatMetrics(ctx, registry);
    if (config.firewall !== undefined) registerFirewallMetrics(ctx, registry);
    if (source.lb !== undefined) registerLbMetrics(ctx);
    registerWorkerMetrics(ctx);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text exposition of one reading of the source. */
  async scrape(): Promise<string> {
    this.reading.clear();
    try {
      return await this.registry.metrics();
    } finally {
      this.reading.clear();
    }
  }
}
