// Cross-check of decodeFrame against tshark over every capture in the shared
// corpus (the fields compared are listed in tshark-compare.ts).
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { skipIf } from '../skip.js';
import { SHARED_PCAPS } from '../../bench/lib/paths.js';
import { listCaptures } from './tshark-oracle.js';
import { compareWithTshark, SUPPORTED } from './tshark-compare.js';
import { hasTools, Tally } from './tally.js';

const runnable = existsSync(SHARED_PCAPS) && hasTools(['tshark', 'capinfos', 'mergecap']);

describe('decodeFrame agrees with tshark over the shared capture corpus', skipIf(runnable ? undefined : 'needs tshark (apt-get install -y tshark) and the shared capture corpus beside the repository'), () => {
  it('>= 99.5% of compared fields equal, no crash, no frame skipped', async () => {
    const files = listCaptures(SHARED_PCAPS);
    const tally = new Tally(Number(process.env.DECODE_TSHARK_EXAMPLES ?? 4));
    const { compared, frames, crashes, countMismatch } = await compareWithTshark(files, SHARED_PCAPS, tally);
    expect(crashes).toEqual([]);
    console.log(tally.report(`tshark cross-check: ${files.length} captures, ${compared.length} compared (link types ${[...SUPPORTED].join('/')}), ${frames} frames`));
    if (countMismatch.length > 0) console.log(`frame count differences:\n  ${countMismatch.join('\n  ')}`);
    expect(countMismatch).toEqual([]);
    expect(tally.compared).toBeGreaterThan(100_000);
    expect(tally.agreement).toBeGreaterThanOrEqual(0.995);
  }, 240_000);
});
