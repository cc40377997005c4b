// The `metrics:` section: `listen: ADDRESS:PORT` loads as host and port; a
// wildcard, a name, a port out of range or a bare number is refused with the
// field and the reason, alongside the config's other mistakes.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { configProblems } from './config-problems.js';

const BASE = 'ports:\n  - name: lan\n    address: 192.0.2.1/24\n';

function load(metrics: string) {
  return parseConfig(`${BASE}metrics: ${metrics}\n`, 'c.yaml', '.');
}

const problems = (yaml: string) => configProblems(yaml);

describe('config metrics:', () => {
  it('listen: 127.0.0.1:9469 (unquoted YAML) loads as host and port', () => {
    expect(load('{ listen: 127.0.0.1:9469 }').metrics).toEqual({ listen: { host: '127.0.0.1', port: 9469 } });
  });

  it('an explicit address of the host and localhost are accepted', () => {
    expect(load('{ listen: 192.0.2.1:1 }').metrics?.listen).toEqual({ host: '192.0.2.1', port: 1 });
    expect(load('{ listen: "localhost:65535" }').metrics?.listen).toEqual({ host: 'localhost', port: 65535 });
  });

  it('no metrics: section, no endpoint', () => {
    expect(parseConfig(BASE, 'c.yaml', '.').metrics).toBeUndefined();
  });

  it.each([
    ['{ listen: 0.0.0.0:9469 }', 'metrics.listen: 0.0.0.0 would listen on every address: give a loopback address such as 127.0.0.1, or one address of this host'],
    ['{ listen: 127.0.0.1:0 }', 'metrics.listen: port 0 is not 1-65535'],
    ['{ listen: 127.0.0.1:65536 }', 'metrics.listen: port 65536 is not 1-65535'],
    ['{ listen: 9469 }', 'metrics.listen: must be ADDRESS:PORT such as 127.0.0.1:9469'],
    ['{ listen: 127.0.0.1 }', 'metrics.listen: must be ADDRESS:PORT such as 127.0.0.1:9469'],
    ['{ listen: "example.com:9469" }', 'metrics.listen: "example.com" is not an IPv4 address; must be ADDRESS:PORT such as 127.0.0.1:9469 (or localhost:PORT)'],
    ['{ listen: 239.1.1.1:9469 }', 'metrics.listen: 239.1.1.1 is not a unicast address'],
    ['{ listen: 127.0.0.1:9469, path: /m }', 'metrics: unknown field "path"'],
    ['{}', 'metrics.listen: required field missing: the ADDRESS:PORT to listen on, such as 127.0.0.1:9469'],
  ])('metrics: %s is refused with the field and the reason', (metrics, problem) => {
    expect(problems(`${BASE}metrics: ${metrics}\n`)).toEqual([problem]);
  });

  it('a bad metrics: section is reported with the other mistakes in one pass', () => {
    const p = problems(`${BASE}routes: [ "198.51.100.0/24 via 192.0.2.0" ]\nmetrics: { listen: 0.0.0.0:1 }\n`);
    expect(p).toHaveLength(2);
    expect(p[0]).toMatch(/^metrics\.listen: 0\.0\.0\.0 would listen/);
    expect(p[1]).toMatch(/gateway 192\.0\.2\.0 is the network address/);
  });
});
