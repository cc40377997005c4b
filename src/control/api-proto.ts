// The control API's protobuf schema (proto/dataplane/api.proto), loaded once
// with @grpc/proto-loader (protobufjs underneath) for the server, the
// `dataplane ctl` client and server reflection alike.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';
import * as grpc from '@grpc/grpc-js';

/** The API's protobuf package. */
export const API_PACKAGE = 'dataplane.v1';
export const API_FILE = 'dataplane/api.proto';

/** proto/ of the installed package, found from src/control or dist/src/control alike. */
export function protoDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'proto', API_FILE))) return join(dir, 'proto');
    dir = dirname(dir);
  }
  throw new Error(`proto/${API_FILE} not found above ${dirname(fileURLToPath(import.meta.url))}: the package is incomplete`);
}

let loaded: { definition: protoLoader.PackageDefinition; services: Record<string, grpc.ServiceClientConstructor> } | undefined;

/**
 * The package definition and a client constructor per service. Fields keep
 * proto's snake_case (the JSON a generic client shows is the same), 64-bit
 * counters come as numbers (a packet count does not reach 2^53), and unset
 * fields come as their defaults.
 */
export function apiSchema(): { definition: protoLoader.PackageDefinition; services: Record<string, grpc.ServiceClientConstructor> } {
  if (loaded !== undefined) return loaded;
  const definition = protoLoader.loadSync(API_FILE, { includeDirs: [protoDir()], keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { dataplane: { v1: Record<string, unknown> } };
  const services: Record<string, grpc.ServiceClientConstructor> = {};
  for (const [name, value] of Object.entries(pkg.dataplane.v1)) {
    if (typeof value === 'function' && 'service' in value) services[name] = value as grpc.ServiceClientConstructor;
  }
  loaded = { definition, services };
  return loaded;
}
