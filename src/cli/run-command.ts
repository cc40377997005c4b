// `dataplane run --config CFG`: the live dataplane. Starts the workers,
// prints a status line every few seconds (pps in/out/drop per port), and on
// SIGINT/SIGTERM stops, removes the TAPs it made, prints a counter summary
// and exits 0.
import { ruleHits, formatRuleHits } from '../firewall/firewall.js';
import type { NatOccupancy } from '../nat/nat-tables.js';
import { ipv4ToString } from '../wire/address.js';
import os from 'node:os';
import { ConfigError, loadConfig, type ConfigNotices } from '../config/load.js';
import { isIoError, NativeUnavailableError } from '../io/native.js';
import { RouteBuildError } from '../route/fib-build.js';
import { Dataplane, type PortTotals } from '../runtime/dataplane.js';
import type { Counters } from '../pipeline/counters.js';
import { CommandError } from '../host/commands.js';
import { checkTraceRequest, openTraceWriter, TraceRequestError, type TraceRequest } from '../trace/session.js';
import type { TracedPacket } from '../trace/traced-packet.js';
import type { TraceWriter } from '../trace/writer.js';
import { AtomicFileSink } from '../pcap/atomic-file-sink.js';
import { PortBusyError } from '../runtime/port-lock.js';
import { formatCpuList, WorkerCpusError } from '../runtime/worker-cpus.js';
import { configCounterLines, printConfigWarnings } from './config-notices.js';
import { lbStatus, lbSummary } from './lb-status.js';
import { SighupReload } from './sighup-reload.js';
import { whenStdoutGone } from '../host/stdout-gone.js';
import { LbSupervisor } from '../lb/health/supervisor.js';
import { DataplaneMetrics } from '../metrics/dataplane-metrics.js';
import { MetricsServer } from '../metrics/metrics-server.js';
import { packageVersion } from './package-version.js';
import { DEFAULT_CONTROL_SOCKET } from '../config/schema.js';
import type { ControlServer } from '../control/server.js';
import type { ControlPlane } from '../control/control-plane.js';

export interface RunOptions {
  config: string;
  workers?: number;
  json: boolean;
  statusInterval: number;
  busyPoll: boolean;
  /** --spin-us: the workers' adaptive spin window bound (undefined: the default). */
  spinMaxUs?: number;
  /** --coalesce-us: the workers' longest receive-coalescing nap (undefined: the default, 0: off). */
  coalesceMaxUs?: number;
  /** --realtime: SCHED_FIFO priority of the workers (undefined: normal scheduling). */
  realtimePriority?: number;
  /** --cpus: worker i is pinned to cpus[i] (parsed by worker-cpus.ts; checked against the workers and the allowed CPUs at start). */
  cpus?: number[];
  trace?: TraceRequest;
}

function defaultWorkers(): number {
  return Math.max(1, os.availableParallelism());
}

export async function runDataplane(opts: RunOptions): Promise<number> {
  const log = (text: string, obj: Record<string, unknown>) =>
    process.stdout.write(opts.json ? JSON.stringify({ time: new Date().toISOString(), ...obj }) + '\n' : text + '\n');
  const fail = (msg: string, code: number) => {
    process.stderr.write(`dataplane run: ${msg}\n`);
    return code;
  };
  let dp: Dataplane;
  // With a CPU list, a worker per listed CPU unless --workers says otherwise.
  const workers = opts.workers ?? opts.cpus?.length ?? defaultWorkers();
  // Traced packets that arrive before the trace file is open (the workers start forwarding at once).
  const early: TracedPacket[] = [];
  let traceWriter: TraceWriter | undefined;
  try {
    const config = loadConfig(opts.config);
    printConfigWarnings('run', config.notices);
    if (opts.trace) checkTraceRequest(opts.trace, config);
    dp = await Dataplane.start(config, {
      workers,
      busyPoll: opts.busyPoll,
      spinMaxUs: opts.spinMaxUs,
      coalesceMaxUs: opts.coalesceMaxUs,
      realtimePriority: opts.realtimePriority,
      cpus: opts.cpus,
      trace: opts.trace && { filter: opts.trace.filter, count: opts.trace.count },
      onEvent: (e) => {
        if (e.type === 'trace') {
          if (traceWriter) traceWriter.write(e.packet);
          else early.push(e.packet);
        } else if (e.type === 'port-gone') log(`port ${config.ports[e.port].name} is gone (worker ${e.index}): ${e.message}; it is down, the others go on`, { event: 'port-gone', port: config.ports[e.port].name, worker: e.index, message: e.message });
        else if (e.type === 'error') log(`worker ${e.index} failed: ${e.message}`, { event: 'worker-error', worker: e.index, message: e.message });
      },
    });
    if (opts.trace) {
      traceWriter = openTraceWriter(new AtomicFileSink(opts.trace.file), dp.config, dp.compiled, dp.nodes);
      for (const p of early.splice(0)) traceWriter.write(p);
    }
  } catch (e) {
    if (e instanceof ConfigError || e instanceof RouteBuildError || e instanceof TraceRequestError || e instanceof PortBusyError || e instanceof WorkerCpusError) return fail(e.message, 2);
    if (e instanceof NativeUnavailableError || e instanceof CommandError || isIoError(e)) return fail((e as Error).message, 1);
    if (e instanceof Error) return fail(e.message, 1);
    throw e;
  }
  // Prometheus metrics (config `metrics:`), read from the workers' shared counters at each scrape.
  let metrics: MetricsServer | undefined;
  if (dp.config.metrics) {
    try {
      metrics = await MetricsServer.start(new DataplaneMetrics(dp), dp.config.metrics.listen);
    } catch (e) {
      traceWriter?.close();
      await dp.stop();
      return fail(`metrics.listen: ${e instanceof Error ? e.message : String(e)}`, 1);
    }
  }
  const pinned = dp.workerCpus;
  log(`dataplane running: ${workers} worker${workers > 1 ? 's' : ''}${opts.busyPoll ? ' (busy polling)' : ''}${pinned ? ` ${pinnedText(pinned, opts.cpus ?? [])}` : ''}, ${dp.config.ports.length} ports, ${dp.config.routes.length} routes (Ctrl-C to stop)`, {
    event: 'started',
    workers,
    ...(pinned && { cpus: pinned }),
    ports: dp.portLines,
  });
  for (const line of dp.portLines) log(`  ${line}`, { event: 'port', detail: line });
  if (metrics) log(`metrics at ${metrics.url}`, { event: 'metrics', url: metrics.url });
  if (opts.trace) {
    const t = opts.trace;
    log(`tracing ${t.count} packet${t.count === 1 ? '' : 's'}${t.filter ? ` matching '${t.filter}'` : ''} to ${t.file}`, { event: 'trace', file: t.file, count: t.count, filter: t.filter });
  }

  let last = dp.ports();
  let lastCounters = dp.counters();
  let lastTime = performance.now();
  let lastNat = dp.nat();
  // Health checks and dynamic weights of the load balancer's backends, from this thread.
  const lbSupervisor = dp.lb && new LbSupervisor(dp.lb, (line) => log(line, { event: 'lb', message: line }));
  lbSupervisor?.start();
  let lastLb = dp.lb?.status() ?? [];
  // The control plane's operations (reload, routes, backends, ...): behind the control API when it listens, and behind SIGHUP.
  const { ControlPlane } = await import('../control/control-plane.js');
  const plane = new ControlPlane(dp, { configFile: opts.config, lbSupervisor, version: packageVersion(), log: (line) => log(line, { event: 'control', message: line }) });
  const control = await startControl(dp, plane, log);
  if (control === 'failed') {
    lbSupervisor?.stop();
    await dp.stop();
    return 2;
  }
  const status = setInterval(() => {
    const now = performance.now();
    const cur = dp.ports();
    const counters = dp.counters();
    const secs = (now - lastTime) / 1000;
    const rate = (a: number, b: number) => Math.round((a - b) / secs);
    const parts = cur.map((p, i) => ({
      port: p.name,
      up: p.up,
      rxPps: rate(p.rxPackets, last[i].rxPackets),
      txPps: rate(p.txPackets, last[i].txPackets),
      dropPps: rate(p.rxDropped + p.rxLost + p.txDropped, last[i].rxDropped + last[i].rxLost + last[i].txDropped),
    }));
    // Packets since the last line (a rate would round a few drops to 0/s).
    const drops = topDrops(counters, lastCounters, 3).map((d) => ({ counter: d.name, packets: d.packets, pps: Math.round((d.packets / secs) * 10) / 10 }));
    const dropText = drops.length > 0 ? ` | drops since last: ${drops.map((d) => `${d.counter} ${d.packets}`).join(', ')}` : '';
    const nat = natStatus(dp.nat(), lastNat, counters, lastCounters, secs);
    lastNat = dp.nat();
    const firewall = dp.config.firewall && firewallStatus(counters, lastCounters, secs);
    const lbNow = dp.lb?.status();
    const lb = lbNow && lbStatus(lbNow, lastLb, secs);
    if (lbNow) lastLb = lbNow;
    log(parts.map((p) => `${p.port}${p.up ? '' : ' (DOWN)'} in ${p.rxPps} out ${p.txPps} drop ${p.dropPps} pps`).join(' | ') + (nat?.text ?? '') + (firewall?.text ?? '') + (lb?.text ?? '') + dropText, {
      event: 'status',
      ports: parts,
      drops,
      ...(nat && { nat: nat.json }),
      ...(firewall && { firewall: firewall.json }),
      ...(lb && { lb: lb.json }),
    });
    last = cur;
    lastCounters = counters;
    lastTime = now;
  }, opts.statusInterval * 1000);
  // SIGUSR1: every counter now, without stopping (`kill -USR1 PID`).
  const onUsr1 = () => printCounters('counters (SIGUSR1)', dp.ports(), { ...dp.counters().nonZero(), ...dp.ioCounters() }, dp.config.notices, log, 'counters');
  process.on('SIGUSR1', onUsr1);
  // SIGHUP: the config file again, whole, as `ctl reload` applies it, while packets flow.
  const onHup = new SighupReload(plane, opts.config, log).onSignal;
  process.on('SIGHUP', onHup);

  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      offStdoutGone();
      resolve();
    };
    const onSignal = (sig: NodeJS.Signals) => {
      log(`${sig}: stopping`, { event: 'stopping', signal: sig });
      stop();
    };
    // Its reader gone (`dataplane run | head`): stop as on SIGTERM, so the TAPs and locks are given back.
    const offStdoutGone = whenStdoutGone(() => {
      process.stderr.write('dataplane run: standard output closed: stopping\n');
      stop();
    });
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  clearInterval(status);
  process.off('SIGUSR1', onUsr1);
  process.off('SIGHUP', onHup);
  await control?.stop();
  const lbHealth = lbSupervisor?.health() ?? [];
  lbSupervisor?.stop();
  await metrics?.close();
  await dp.stop();
  if (traceWriter) {
    traceWriter.close();
    log(`traced ${traceWriter.written} packet${traceWriter.written === 1 ? '' : 's'} to ${opts.trace?.file}`, { event: 'trace-written', file: opts.trace?.file, packets: traceWriter.written });
  }
  printCounters('stopped.', dp.ports(), { ...dp.counters().nonZero(), ...dp.ioCounters() }, dp.config.notices, log, 'stopped');
  const hits = dp.firewallHits();
  if (dp.config.firewall && hits) {
    const rules = ruleHits(dp.config.firewall, hits);
    log(formatRuleHits(rules).join('\n'), { event: 'firewall-hits', rules });
  }
  if (dp.lb) log(lbSummary(dp.lb.status(), lbHealth), { event: 'lb-backends', backends: dp.lb.status(), health: lbHealth });
  return 0;
}

/**
 * Serves the control API (`dataplane ctl`) where the config says. The
 * default socket is best effort: when another dataplane serves it, or this
 * process may not create it, a line says so and the dataplane runs without
 * it. A socket or listen address the config names must work, or run stops.
 */
async function startControl(dp: Dataplane, plane: ControlPlane, log: (text: string, obj: Record<string, unknown>) => void): Promise<ControlServer | undefined | 'failed'> {
  const { socket, listen } = dp.config.control;
  if (!socket && !listen) return undefined;
  const { ControlServer } = await import('../control/server.js');
  const isDefault = socket === DEFAULT_CONTROL_SOCKET && listen === undefined;
  try {
    const server = await ControlServer.start(plane, { socket, listen });
    log(`control API on ${server.addresses.join(' and ')} (dataplane ctl${socket === DEFAULT_CONTROL_SOCKET ? '' : ` --socket ${socket || listen}`})`, { event: 'control', addresses: server.addresses });
    return server;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (isDefault) {
      log(`control API off: ${msg}`, { event: 'control-off', message: msg });
      return undefined;
    }
    process.stderr.write(`dataplane run: control API: ${msg}\n`);
    return 'failed';
  }
}

/** "on CPU 1" / "on CPUs 1,0 (worker i on the i-th)", and the listed CPUs no worker uses. */
export function pinnedText(pinned: readonly number[], listed: readonly number[]): string {
  const unused = listed.slice(pinned.length);
  const where = pinned.length === 1 ? `on CPU ${pinned[0]}` : `on CPUs ${pinned.join(',')} (worker i on the i-th)`;
  return where + (unused.length > 0 ? `; --cpus ${formatCpuList(unused)} not used` : '');
}

/** The drop counters that grew most between two readings: [{ name, packets }], largest first. */
export function topDrops(now: Counters, before: Counters, n: number): { name: string; packets: number }[] {
  const out: { name: string; packets: number }[] = [];
  const reg = now.registry;
  for (let i = 0; i < reg.size; i++) {
    if (reg.info(i).kind !== 'drop') continue;
    const d = now.packets(i) - before.packets(i);
    if (d > 0) out.push({ name: reg.info(i).name, packets: d });
  }
  return out.sort((a, b) => b.packets - a.packets || a.name.localeCompare(b.name)).slice(0, n);
}

function printCounters(
  title: string,
  ports: PortTotals[],
  counters: Record<string, { packets: number; bytes: number }>,
  notices: ConfigNotices,
  log: (t: string, o: Record<string, unknown>) => void,
  event: string,
): void {
  const lines = [`${title} ports:`];
  for (const p of ports) {
    lines.push(
      `  ${p.name.padEnd(12)} rx ${p.rxPackets} (${p.rxBytes} B): forwarded ${p.rxForwarded}, dropped ${p.rxDropped}, to the router ${p.rxLocal}, queued for ARP ${p.rxQueued}` +
        `${p.rxLost > 0 ? `; lost by the port before the pipeline ${p.rxLost}` : ''}  tx ${p.txPackets} (${p.txBytes} B), not sent ${p.txDropped}`,
    );
  }
  lines.push('counters (packets):');
  const names = Object.keys(counters).sort();
  const width = Math.max(0, ...names.map((n) => n.length));
  for (const n of names) lines.push(`  ${n.padEnd(width)}  ${counters[n].packets}`);
  lines.push(...configCounterLines(notices));
  log(lines.join('\n'), { event, ports, counters, configCounters: notices.counters });
}

/**
 * The NAT part of a status line: flow-table occupancy, flows started and
 * entries ended per second, NAT ports in use per external address.
 */
export function natStatus(now: NatOccupancy | undefined, before: NatOccupancy | undefined, counters: Counters, lastCounters: Counters, secs: number): { text: string; json: object } | undefined {
  if (now === undefined || before === undefined) return undefined;
  const created = counters.registry.indexOf('nat-output/flows-created');
  const newPerSec = created === undefined ? 0 : Math.round((counters.packets(created) - lastCounters.packets(created)) / secs);
  const endedPerSec = Math.round((now.expired + now.evicted - before.expired - before.evicted) / secs);
  const ports = now.portsInUse.map((p) => ({ rule: p.rule, address: ipv4ToString(p.address), inUse: p.inUse, size: p.size }));
  const text =
    ` | flows ${now.live}/${now.capacity} new ${newPerSec}/s ended ${endedPerSec}/s` +
    (now.tableFull > before.tableFull ? ` FULL x${now.tableFull - before.tableFull}` : '') +
    (ports.length > 0 ? ` | nat ports ${ports.map((p) => `${p.address} ${p.inUse}`).join(', ')}` : '');
  return { text, json: { flows: now.live, capacity: now.capacity, newPerSec, endedPerSec, tableFull: now.tableFull, ports } };
}

/** The firewall part of a status line: first packets allowed, denied and rejected per second. */
export function firewallStatus(counters: Counters, lastCounters: Counters, secs: number): { text: string; json: object } {
  const perSec = (name: string) => {
    const i = counters.registry.indexOf(name);
    return i === undefined ? 0 : Math.round((counters.packets(i) - lastCounters.packets(i)) / secs);
  };
  const json = { allowedPerSec: perSec('firewall/allowed'), deniedPerSec: perSec('firewall/denied'), rejectedPerSec: perSec('firewall/rejected') };
  return { text: ` | fw new flows allowed ${json.allowedPerSec}/s denied ${json.deniedPerSec}/s rejected ${json.rejectedPerSec}/s`, json };
}
