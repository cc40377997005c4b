// The control API's protobuf schema (proto/dataplane/api.proto), loaded once
// with @grpc/proto-loader (protobufjs underneath) for the server, the
// server and its reflection (which need the descriptors proto-loader builds);
// clients use the lighter api-client-schema.ts.
import * as protoLoader from '@grpc/proto-loader';
import * as grpc from '@grpc/grpc-js';
import { API_FILE, protoDir } from './api-files.js';

export { API_FILE, API_PACKAGE, protoDir } from './api-files.js';

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
