// `dataplane demo`: shows the dataplane at work on a built-in default. As
// root it builds a live lab (namespaces, TAP ports, `dataplane run`) and
// sends real ping/traceroute/curl/iperf3 traffic through it (src/lab/
// live-demo.ts). Otherwise (or with --offline) it writes a capture of crafted
// client traffic, replays it through the same pipeline the live dataplane
// runs, and decodes what the router sent back.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../config/load.js';
import { LINKTYPE_ETHERNET } from '../pcap/link-type.js';
import { PcapngWriter } from '../pcap/writer.js';
import { replayCapture } from '../replay/replay.js';
import { DEMO_CONFIG, demoTraffic } from '../demo/scenario.js';
import { runDecode } from '../decode/command.js';
import { labUnavailable } from '../lab/lab-error.js';

export async function runDemo(opts: { keep: boolean; offline?: boolean }): Promise<number> {
  let liveFailed: string | undefined;
  if (opts.offline !== true && labUnavailable() === undefined && existsSync('/dev/net/tun')) {
    const { runLiveDemo } = await import('../lab/live-demo.js');
    try {
      return await runLiveDemo();
    } catch (e) {
      liveFailed = e instanceof Error ? e.message : String(e);
      process.stdout.write(`\nThe live lab could not be built: ${liveFailed}\nFalling back to the offline replay.\n\n`);
    }
  }
  const dir = mkdtempSync(join(os.tmpdir(), 'dataplane-demo-'));
  const say = (s: string) => process.stdout.write(s + '\n');
  try {
    const configPath = join(dir, 'router.yaml');
    writeFileSync(configPath, DEMO_CONFIG);
    const config = parseConfig(DEMO_CONFIG, configPath, dir);
    say('dataplane demo: offline replay through the forwarding pipeline.');
    if (process.getuid?.() !== 0) say('(Not root: the live lab with network namespaces needs root (sudo dataplane demo); replaying a built-in capture instead.)');
    else if (liveFailed !== undefined) say('(The live lab failed, see above; replaying a built-in capture instead.)');
    else say('(Offline: replaying a built-in capture; without --offline, root gets the live lab with network namespaces.)');
    say(`\nRouter config (${configPath}):\n${DEMO_CONFIG}`);

    const input = join(dir, 'client.pcapng');
    const traffic = demoTraffic();
    const w = new PcapngWriter(input, { interfaces: config.ports.map((p) => ({ name: p.name, linkType: LINKTYPE_ETHERNET })), nanosecond: true });
    const t0 = Math.floor(Date.now() / 1000);
    traffic.forEach((t, i) => w.write(0, t.frame, t0, i * 1_000_000));
    w.close();
    say('The client (192.0.2.10, on port lan) sends:');
    traffic.forEach((t, i) => say(`  ${String(i + 1).padStart(2)}. ${t.what}`));

    const output = join(dir, 'router-out.pcapng');
    const summary = replayCapture(config, input, output);
    say(`\nThe router sent ${summary.framesOut} frames (${Object.entries(summary.ports).map(([n, p]) => `${n}: ${p.txFrames}`).join(', ')}), decoded:\n`);
    const code = await runDecode(output, { json: false });
    say('\nCounters (packets):');
    const names = Object.keys(summary.counters).sort();
    const width = Math.max(...names.map((n) => n.length));
    for (const n of names) say(`  ${n.padEnd(width)}  ${summary.counters[n].packets}`);
    if (opts.keep) say(`\nFiles kept in ${dir}: router.yaml, client.pcapng, router-out.pcapng`);
    else say(`\nTry it yourself: dataplane demo --keep, then dataplane replay / decode on the files it keeps.`);
    return code;
  } finally {
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  }
}
