// Text from a user's file shown inside a message, safely: a routes file that
// is really a pcap or a binary gives tokens full of NULs, escape sequences
// and invalid UTF-8, which printed raw garble (or drive) the terminal and can
// run to thousands of characters. A quoted token shows what is printable as
// it is, every other character escaped as in JSON (\u0000, \u001b), and at
// most MAX_QUOTED characters of it.

/** Characters of a quoted token shown; a longer one is cut and its length given. */
export const MAX_QUOTED = 64;

/**
 * C0 and C1 controls and DEL, line and paragraph separators, the bidi
 * controls (which reorder what follows on the terminal), the BOM and the
 * replacement character (what invalid UTF-8 decodes to), and the quote and
 * backslash themselves (so the quoting stays unambiguous).
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ufffd"\\]/g;

function escape(c: string): string {
  if (c === '"' || c === '\\') return `\\${c}`;
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** `text` in double quotes, escaped as above and cut at MAX_QUOTED characters ("..." (5000 characters)). */
export function quoted(text: string): string {
  const shown = text.length > MAX_QUOTED ? text.slice(0, MAX_QUOTED) : text;
  const body = `"${shown.replace(UNSAFE, escape)}"`;
  return text.length > MAX_QUOTED ? `${body.slice(0, -1)}..." (${text.length} characters)` : body;
}

/** Terminal controls (C0, C1, DEL, bidi) anywhere in `line` escaped as \u001b: for a message built from user text that was not quoted. */
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
export function withoutControls(line: string): string {
  return line.replace(CONTROLS, escape);
}
