// End to end through `dataplane run` with AF_PACKET ports on veth pairs (the
// router ends carry no kernel address): with offloads off on both ends
// (offload: false), and with the veths' default offloads left on as Docker
// leaves a container's eth0 (TSO/GSO and checksum offload: TCP arrives in
// super-frames of up to 64 KiB, which the ports take with PACKET_VNET_HDR);
// and with the TPACKET_V3 receive ring (io.ring: v3) in place of the default V2.
import { labSuite } from './suite.js';

labSuite('afpacket', 1, 'dpe-afp1');
labSuite('afpacket', 2, 'dpe-afp2');
labSuite('afpacket', 1, 'dpe-afo1', { offload: true });
labSuite('afpacket', 2, 'dpe-afo2', { offload: true });
labSuite('afpacket', 2, 'dpe-afv3', { ring: 'v3' });
