// `dataplane --help run`: the help flag before a command's name asks for
// that command's help, as `git --help commit` does. Commander printed the
// main help instead (the flag is the program's own option there) and
// exited 0, whatever the words after it were.

/**
 * `argv` with a leading `--help`/`-h` moved behind the words that follow
 * it, so that commander sees `run --help` (and refuses an unknown word as it
 * does with the flag after it). Anything else is returned as it is.
 */
export function helpFlagLast(argv: readonly string[]): string[] {
  const [node, script, flag, ...rest] = argv;
  if ((flag !== '--help' && flag !== '-h') || rest.length === 0 || rest[0].startsWith('-')) return [...argv];
  return [node, script, ...rest, flag];
}
