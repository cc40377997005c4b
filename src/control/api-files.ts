// Where the control API's schema is: proto/dataplane/api.proto of the
// installed package, found from src/control or dist/src/control alike. A
// module of its own so that the client's schema (api-client-schema.ts) can
// find the file without loading @grpc/proto-loader.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The API's protobuf package. */
export const API_PACKAGE = 'dataplane.v1';
export const API_FILE = 'dataplane/api.proto';

/** proto/ of the installed package. */
export function protoDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'proto', API_FILE))) return join(dir, 'proto');
    dir = dirname(dir);
  }
  throw new Error(`proto/${API_FILE} not found above ${dirname(fileURLToPath(import.meta.url))}: the package is incomplete`);
}
