// Static neighbors (`neighbors:`) all fit in the neighbor table, however
// many: the table is sized for them on top of the learned ones (1500 here,
// more than the default table's 1024, which used to drop the rest silently).
import { describe, expect, it } from 'vitest';
import { Harness } from '../pipeline/harness.js';

const COUNT = 1500;

function config(): string {
  const lines = ['ports:', '  - { name: lan, mac: "02:00:00:00:00:01", address: 198.18.0.1/20 }', '  - { name: wan, mac: "02:00:00:00:00:02", address: 198.51.100.1/24 }', 'neighbors:'];
  for (let i = 0; i < COUNT; i++) {
    const host = 2 + i;
    lines.push(`  - { address: 198.18.${host >> 8}.${host & 255}, mac: "02:aa:00:00:${((host >> 8) & 255).toString(16).padStart(2, '0')}:${(host & 255).toString(16).padStart(2, '0')}" }`);
  }
  return lines.join('\n') + '\n';
}

describe('static neighbors', () => {
  it(`all ${COUNT} are in the table, with room left to learn others`, () => {
    const h = new Harness(config());
    const table = h.router.arp.neighbors;
    let missing = 0;
    for (let i = 0; i < COUNT; i++) {
      const host = 2 + i;
      if (table.find(0, ((198 << 24) | (18 << 16) | ((host >> 8) << 8) | (host & 255)) >>> 0) < 0) missing++;
    }
    expect(missing).toBe(0);
    expect(table.findOrInsert(1, (198 << 24) | (51 << 16) | (100 << 8) | 7)).toBeGreaterThanOrEqual(0);
  });
});
