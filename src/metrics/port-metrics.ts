// Per port: frames and bytes in and out, and what was lost on the way: in
// the pipeline (any node, any reason; by node in dataplane_drops_total), by
// the port before the pipeline saw it, or not sent. Labels: the config's
// port names.
import type { PortTotals } from '../runtime/port-totals.js';
import { counterFamily, gaugeFamily, type FamilyContext } from './families.js';

export function registerPortMetrics(ctx: FamilyContext, portNames: readonly string[]): void {
  const labels = portNames.map((port) => ({ port }));
  const pipeline = portNames.map((port) => ({ port, stage: 'pipeline' }));
  const lost = portNames.map((port) => ({ port, stage: 'port' }));
  const each = (name: string, help: string, value: (p: PortTotals) => number) =>
    counterFamily(ctx, name, help, ['port'], (r, emit) => r.ports.forEach((p, i) => emit(labels[i], value(p))));
  each('dataplane_port_receive_packets_total', 'Frames received on the port and handed to the pipeline.', (p) => p.rxPackets);
  each('dataplane_port_receive_bytes_total', 'Bytes of the frames received on the port (Ethernet header included).', (p) => p.rxBytes);
  each('dataplane_port_transmit_packets_total', 'Frames sent by the port.', (p) => p.txPackets);
  each('dataplane_port_transmit_bytes_total', 'Bytes of the frames sent by the port.', (p) => p.txBytes);
  each('dataplane_port_transmit_drops_total', 'Frames routed to the port but not sent (queue full, refused by the kernel, link or port down).', (p) => p.txDropped);
  counterFamily(
    ctx,
    'dataplane_port_receive_drops_total',
    'Frames received on the port and lost: stage="pipeline" dropped by a node (see dataplane_drops_total), stage="port" lost by the port before the pipeline (too big, offload it cannot take, kernel socket drops).',
    ['port', 'stage'],
    (r, emit) =>
      r.ports.forEach((p, i) => {
        emit(pipeline[i], p.rxDropped);
        emit(lost[i], p.rxLost);
      }),
  );
  gaugeFamily(ctx, 'dataplane_port_up', '1 while the port is up, 0 once its interface is gone.', ['port'], (r, emit) => r.ports.forEach((p, i) => emit(labels[i], p.up ? 1 : 0)));
}
