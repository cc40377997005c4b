// A command-line value that names a file: an empty one is a usage error
// naming the option. Left to the command, `--out ''` was read as a file
// named "" (replay wrote a temporary file beside it, then failed to rename
// it, leaving the temporary file behind) and `--config ''` as "cannot read :
// no such file".
import { InvalidArgumentError } from 'commander';

/** The parser of an option (or argument) `name` that takes a file path. */
export function fileOption(name: string): (value: string) => string {
  return (value: string): string => {
    if (value.trim() === '') throw new InvalidArgumentError(`${name} must name a file, got ${value === '' ? 'an empty value' : 'only spaces'}`);
    // "out/" names a directory: an output would be written beside it as "out" (or fail late, ENOTDIR).
    if (value.endsWith('/')) throw new InvalidArgumentError(`${name} must name a file, not a directory (${value} ends with "/")`);
    return value;
  };
}
