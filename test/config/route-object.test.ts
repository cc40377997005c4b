// A route object gives its next hop once: `via`/`dev`, or `nexthops`.
// Both at once used to drop `via` and `dev` without a word.
import { describe, expect, it } from 'vitest';
import { configProblems } from './config-problems.js';

const PORTS = `ports:
  - { name: lan, address: 192.0.2.1/24 }
  - { name: wan, address: 198.51.100.1/24 }
`;

describe('route objects', () => {
  it('refuses via or dev together with nexthops (one of them would be dropped)', () => {
    expect(
      configProblems(`${PORTS}routes:
  - { prefix: 10.1.0.0/16, via: 198.51.100.2, nexthops: [{ via: 198.51.100.3 }] }
  - { prefix: 10.2.0.0/16, dev: wan, nexthops: [{ via: 198.51.100.3 }] }
  - { prefix: 10.3.0.0/16, via: 198.51.100.2, dev: wan, nexthops: [{ via: 198.51.100.3 }] }
  - { prefix: 10.4.0.0/16, nexthops: [{ via: 198.51.100.3, dev: wan }, { via: 198.51.100.4 }] }
`),
    ).toEqual([
      'routes[0]: give either "via" or "nexthops", not both (each next hop of nexthops takes its own via and dev)',
      'routes[1]: give either "dev" or "nexthops", not both (each next hop of nexthops takes its own via and dev)',
      'routes[2]: give either "via"/"dev" or "nexthops", not both (each next hop of nexthops takes its own via and dev)',
    ]);
  });
});
