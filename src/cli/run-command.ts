// `dataplane run --config CFG`: the live dataplane. Starts the workers,
// prints a status line every few seconds (pps in/out/drop per port), and on
// SIGINT/SIGTERM stops, removes the TAPs it made, prints a counter summary
// and exits 0.
import os from 'node:os';
import { ConfigError, loadConfig, type ConfigNotices } from '../config/load.js';
import { isIoError, NativeUnavailableError } from '../io/native.js';
import { RouteBuildError } from '../route/fib-build.js';
import { Dataplane, type PortTotals } from '../runtime/dataplane.js';
import { PortBusyError } from '../runtime/port-lock.js';
import { PortSetupError } from '../runtime/port-setup.js';
import { configCounterLines, printConfigWarnings } from './config-notices.js';

export interface RunOptions {
  config: string;
  workers?: number;
  json: boolean;
  statusInterval: number;
  busyPoll: boolean;
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
  const workers = opts.workers ?? defaultWorkers();
  try {
    const config = loadConfig(opts.config);
    printConfigWarnings('run', config.notices);
    dp = await Dataplane.start(config, {
      workers,
      busyPoll: opts.busyPoll,
      onEvent: (e) => {
        if (e.type === 'port-gone') log(`port ${config.ports[e.port].name} is gone (worker ${e.index}): ${e.message}; it is down, the others go on`, { event: 'port-gone', port: config.ports[e.port].name, worker: e.index, message: e.message });
        else if (e.type === 'error') log(`worker ${e.index} failed: ${e.message}`, { event: 'worker-error', worker: e.index, message: e.message });
      },
    });
  } catch (e) {
    if (e instanceof ConfigError || e instanceof RouteBuildError || e instanceof PortBusyError) return fail(e.message, 2);
    if (e instanceof NativeUnavailableError || e instanceof PortSetupError || isIoError(e)) return fail((e as Error).message, 1);
    if (e instanceof Error) return fail(e.message, 1);
    throw e;
  }
  log(`dataplane running: ${workers} worker${workers > 1 ? 's' : ''}${opts.busyPoll ? ' (busy polling)' : ''}, ${dp.config.ports.length} ports, ${dp.config.routes.length} routes (Ctrl-C to stop)`, {
    event: 'started',
    workers,
    ports: dp.portLines,
  });
  for (const line of dp.portLines) log(`  ${line}`, { event: 'port', detail: line });

  let last = dp.ports();
  let lastTime = performance.now();
  const status = setInterval(() => {
    const now = performance.now();
    const cur = dp.ports();
    const secs = (now - lastTime) / 1000;
    const rate = (a: number, b: number) => Math.round((a - b) / secs);
    const parts = cur.map((p, i) => ({
      port: p.name,
      up: p.up,
      rxPps: rate(p.rxPackets, last[i].rxPackets),
      txPps: rate(p.txPackets, last[i].txPackets),
      dropPps: rate(p.rxDropped + p.txDropped, last[i].rxDropped + last[i].txDropped),
    }));
    log(parts.map((p) => `${p.port}${p.up ? '' : ' (DOWN)'} in ${p.rxPps} out ${p.txPps} drop ${p.dropPps} pps`).join(' | '), { event: 'status', ports: parts });
    last = cur;
    lastTime = now;
  }, opts.statusInterval * 1000);

  await new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      log(`${sig}: stopping`, { event: 'stopping', signal: sig });
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  clearInterval(status);
  await dp.stop();
  printSummary(dp.ports(), dp.counters().nonZero(), dp.config.notices, log);
  return 0;
}

function printSummary(ports: PortTotals[], counters: Record<string, { packets: number; bytes: number }>, notices: ConfigNotices, log: (t: string, o: Record<string, unknown>) => void): void {
  const lines = ['stopped. ports:'];
  for (const p of ports) lines.push(`  ${p.name.padEnd(12)} rx ${p.rxPackets} (${p.rxBytes} B)  tx ${p.txPackets} (${p.txBytes} B)  dropped in ${p.rxDropped} out ${p.txDropped}`);
  lines.push('counters (packets):');
  const names = Object.keys(counters).sort();
  const width = Math.max(0, ...names.map((n) => n.length));
  for (const n of names) lines.push(`  ${n.padEnd(width)}  ${counters[n].packets}`);
  lines.push(...configCounterLines(notices));
  log(lines.join('\n'), { event: 'stopped', ports, counters, configCounters: notices.counters });
}
