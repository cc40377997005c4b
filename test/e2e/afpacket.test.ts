// End to end through `dataplane run` with AF_PACKET ports on veth pairs (the
// router ends carry no kernel address; offloads off on both ends).
import { labSuite } from './suite.js';

labSuite('afpacket', 1, 'dpe-afp1');
labSuite('afpacket', 2, 'dpe-afp2');
