// Capture files: streaming reader (pcap, pcapng) and writers.
export * from './link-type.js';
export * from './reader.js';
export * from './writer.js';
