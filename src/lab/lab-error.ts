// What stops a lab: its error (a bad option, a router that never answers),
// and the reasons a lab cannot be built on this machine at all. A command
// that fails underneath throws the host module's CommandError instead.
import { missingToolsMessage } from '../host/tools.js';

export class LabError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LabError';
  }
}

/** Why a lab cannot be built here, or undefined. */
export function labUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'the lab needs Linux network namespaces';
  if (process.getuid?.() !== 0) return 'the lab needs root (network namespaces, TAP devices, AF_PACKET): run it with sudo';
  return missingToolsMessage(['ip']);
}
