// Why a file could not be read or written, in words a user acts on ("no such
// file (ENOENT)"), for every message that names a file the user gave: the
// config, its routesFile and networkPolicyFile, the files `ctl` reads, and
// the captures and traces replay writes.
const REASONS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'the name is too long',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'the file is too large for its file system',
  EROFS: 'a read-only file system',
  EIO: 'an I/O error',
  ENXIO: 'no such device',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
};

/** The reason of a failed read or write: the errno code with its meaning, else the error's first line. */
export function fileErrorReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code !== undefined) return REASONS[code] !== undefined ? `${REASONS[code]} (${code})` : code;
  return e instanceof Error ? e.message.split('\n')[0] : String(e);
}
