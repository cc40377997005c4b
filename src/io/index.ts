// Packet I/O: ports (TAP, AF_PACKET, memory) and the native addon's loader.
export { IoCounter, isIoError, isPortGone, loadNative, nativeAvailable, NativeUnavailableError } from './native.js';
export type { IoError, NativeIo, PacketOpenOptions, PacketStats, TapOpenOptions } from './native.js';
export { PortClosedError, type PacketPort } from './port.js';
export { TapPort, type TapPortOptions } from './tap-port.js';
export { AfPacketPort, type AfPacketPortOptions } from './af-packet-port.js';
export { MemoryPort, type MemoryPortOptions } from './memory-port.js';
export { PortWaiter } from './wait.js';
