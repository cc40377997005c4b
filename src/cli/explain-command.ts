// `dataplane explain --config CFG [--json] 'PROTO SRC[:PORT] > DST[:PORT] in PORT [options]'`:
// one packet through a router built from the config, node by node, with
// the route, the firewall's sections, the NAT binding, the backend and
// tunnel, and the ICMP error or drop (src/explain/).
import { ConfigError, loadConfig, type RouterConfig } from '../config/load.js';
import { explainOffline } from '../explain/offline.js';
import { formatExplain } from '../explain/format.js';
import { ExplainSpecError } from '../explain/spec.js';
import { RouteBuildError } from '../route/fib-build.js';
import { printConfigWarnings } from './config-notices.js';

export function runExplain(spec: string, opts: { config: string; json: boolean }): number {
  let config: RouterConfig;
  try {
    config = loadConfig(opts.config);
    printConfigWarnings('explain', config.notices);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`dataplane explain: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  try {
    const result = explainOffline(config, spec);
    process.stdout.write((opts.json ? JSON.stringify(result) : formatExplain(result)) + '\n');
    return 0;
  } catch (e) {
    if (e instanceof ExplainSpecError) {
      process.stderr.write(`dataplane explain: ${e.message}\n`);
      return 2;
    }
    if (e instanceof RouteBuildError) {
      process.stderr.write(`dataplane explain: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
