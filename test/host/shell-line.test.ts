// shellLine: a shown command runs as shown (bash gives back the same argv).
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shellLine } from '../../src/host/shell-line.js';

describe('shellLine', () => {
  it('leaves plain words alone and quotes the ones a shell would split or expand', () => {
    expect(shellLine(['ping', '-n', '-c1', '-W2', '203.0.113.99'])).toBe('ping -n -c1 -W2 203.0.113.99');
    expect(shellLine(['curl', '-w', '%{http_code} %{size_download} bytes\\n', 'http://198.51.100.10:8080/file.bin'])).toBe("curl -w '%{http_code} %{size_download} bytes\\n' http://198.51.100.10:8080/file.bin");
    expect(shellLine(['echo', "it's", '$HOME', '', 'a*b'])).toBe(`echo 'it'\\''s' '$HOME' '' 'a*b'`);
  });

  it('bash reads it back as the same words', () => {
    const argv = ['printf', '%s|', "it's", '$HOME', '', 'a b', 'a*b', '%{x} (y)\\n', '`id`', 'tab\there'];
    const r = spawnSync('bash', ['-c', shellLine(argv)], { encoding: 'utf8' });
    expect(r.stdout).toBe(argv.slice(2).map((w) => `${w}|`).join(''));
  });
});
