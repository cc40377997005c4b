// The control API's default Unix socket, in a module of its own: `dataplane
// ctl` needs this one string, and importing it from config/schema.ts would
// load zod and every config schema into each ctl process (about a fifth of
// its start-up CPU, the ctl-roundtrip bench's process row).

/** The control API's default Unix socket (`dataplane ctl` connects there too). */
export const DEFAULT_CONTROL_SOCKET = '/run/dataplane/dataplane.sock';
