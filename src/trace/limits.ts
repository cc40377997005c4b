// Bounds of a trace request, shared by the command line and the checks.
export const DEFAULT_TRACE_COUNT = 100;
/** More would mean a trace file of gigabytes: a capture is the tool for that. */
export const MAX_TRACE_COUNT = 1_000_000;
