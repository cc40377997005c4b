// End to end through `dataplane run` with TAP ports (the dataplane creates
// the TAPs and moves their kernel side into the client and server namespaces).
import { labSuite } from './suite.js';

labSuite('tap', 1, 'dpe-tap1');
labSuite('tap', 2, 'dpe-tap2');
