import { describe, expect, it } from 'vitest';
import { WIRE_DROP_COUNT, WireDrop, wireDropDescription, wireDropName } from '../../src/wire/drop-reason.js';

describe('wire drop reasons', () => {
  const codes = Object.values(WireDrop);

  it('codes are 0..N-1 with no gaps or duplicates, one name per code', () => {
    expect([...codes].sort((a, b) => a - b)).toEqual(Array.from({ length: codes.length }, (_, i) => i));
    expect(WIRE_DROP_COUNT).toBe(codes.length);
  });

  it('every code has a kebab-case name matching its key and a description', () => {
    for (const [key, code] of Object.entries(WireDrop)) {
      expect(wireDropName(code)).toBe(key.toLowerCase().replace(/_/g, '-'));
      expect(wireDropDescription(code)).not.toBe('unknown drop reason');
    }
  });

  it('unknown codes get a placeholder, not an exception', () => {
    expect(wireDropName(999)).toBe('unknown-999');
    expect(wireDropDescription(-1)).toBe('unknown drop reason');
  });
});
