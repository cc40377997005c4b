// Why a file could not be read, in words a user acts on ("no such file
// (ENOENT)"), for every message that names a file the user gave: the config,
// its routesFile and networkPolicyFile, and the files `ctl` reads.
const REASONS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'the name is too long',
};

/** The reason of a failed read: the errno code with its meaning, else the error's first line. */
export function fileErrorReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code !== undefined) return REASONS[code] !== undefined ? `${REASONS[code]} (${code})` : code;
  return e instanceof Error ? e.message.split('\n')[0] : String(e);
}
