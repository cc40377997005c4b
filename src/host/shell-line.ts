// A command line as a user would type it into a shell: what the demo and the
// labs show they ran, so that a shown command can be copied and run as is.
// Words that a POSIX shell would split or expand are single-quoted.

/** argv as one shell line: plain words as they are, others in single quotes ('\'' for a quote). */
export function shellLine(argv: readonly string[]): string {
  return argv.map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');
}
