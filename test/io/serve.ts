// Plays the host at the far end of a port: answers ARP for `ip` and ICMP
// echo requests to it, one burst at a time, through the port under test.
import { Batch } from '../../src/pipeline/batch.js';
import type { PacketPort } from '../../src/io/port.js';
import { PortWaiter } from '../../src/io/wait.js';
import { arpReplyFor, echoReplyFor } from './frames.js';
import { pingFrom, tick } from './netns.js';

export interface Seen {
  frames: number;
  arpRequests: number;
  echoRequests: number;
  sent: number;
}

export class Responder {
  readonly seen: Seen = { frames: 0, arpRequests: 0, echoRequests: 0, sent: 0 };
  readonly batch = new Batch({ rxCapacity: 64, generatedCapacity: 64, shared: true });
  private readonly slots = new Uint16Array(64);

  constructor(
    private readonly port: PacketPort,
    private readonly mac: Uint8Array,
    private readonly ip: number,
  ) {}

  /** One rx burst and the replies to it; returns the frames received. */
  serve(): number {
    const b = this.batch;
    b.reset();
    const n = this.port.rx(b);
    let out = 0;
    for (let i = 0; i < b.rxCount; i++) {
      this.seen.frames++;
      const f = b.bytes(i);
      const arp = arpReplyFor(f, this.mac, this.ip);
      const echo = arp ? undefined : echoReplyFor(f, this.mac, this.ip);
      const reply = arp ?? echo;
      if (!reply) continue;
      if (arp) this.seen.arpRequests++;
      else this.seen.echoRequests++;
      const s = b.allocGenerated(i);
      b.arena.set(reply, b.start[s]);
      b.length[s] = reply.length;
      this.slots[out++] = s;
    }
    if (out > 0) this.seen.sent += this.port.tx(b, this.slots, out);
    return n;
  }
}

/**
 * Pings `ip` from namespace `ns` while a Responder for (mac, ip) serves the
 * port, for at most 5 s; returns ping's exit status and output, and the responder.
 */
export async function answerPing(port: PacketPort, ns: string, mac: Uint8Array, ip: number, addr: string): Promise<{ exit: number; output: string; responder: Responder }> {
  const responder = new Responder(port, mac, ip);
  const waiter = new PortWaiter([port]);
  const ping = pingFrom(ns, addr);
  const deadline = Date.now() + 5000;
  while (!ping.done() && Date.now() < deadline) {
    if (waiter.wait(20) !== 0) responder.serve();
    await tick();
  }
  const exit = await ping.exit;
  return { exit, output: ping.output(), responder };
}
