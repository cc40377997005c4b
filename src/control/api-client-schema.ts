// The control API's schema as a client needs it: for each method of each
// service of proto/dataplane/api.proto, its path and how its request is
// encoded and its response decoded, built with protobufjs directly (no
// grpc-js: ControlClient calls through grpc-unary-channel.ts).
//
// Why not api-proto.ts (@grpc/proto-loader) here: proto-loader also builds
// a descriptor (DescriptorProto objects, encoded file descriptors) for
// every message of every method, which only server reflection reads, and
// loads protobufjs's descriptor extension to do it. A `dataplane ctl`
// process makes one call, so that work was a large share of its start-up
// (the ctl-roundtrip bench's process row). The messages are the same: the
// file is parsed with proto-loader's options (keepCase), a request is
// encoded from a plain object (fromObject) and a response decoded to one
// with the options api-proto.ts gives proto-loader (64-bit numbers as
// numbers, enums as names, defaults set, the oneof's case named), so a
// caller sees exactly what a proto-loader client would. (On the wire this
// protobufjs, 8, leaves proto3 fields at their default off, as the spec
// says; proto-loader's own protobufjs 7 writes them. Both read either.)
import protobuf from 'protobufjs';
import { join } from 'node:path';
import { API_FILE, API_PACKAGE, protoDir } from './api-files.js';

/** How a response becomes a plain object: api-proto.ts's proto-loader options. */
const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, enums: String, defaults: true, oneofs: true };

/** One method as grpc-js's MethodDefinition describes it (so a test can hold it against proto-loader's). */
export interface ApiMethod {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestSerialize: (o: object) => Buffer;
  requestDeserialize: (b: Buffer) => object;
  responseSerialize: (o: object) => Buffer;
  responseDeserialize: (b: Buffer) => object;
}

let loaded: Record<string, Record<string, ApiMethod>> | undefined;

/** The methods of each service, by service name ("Routes", "Control", ...) and method name. */
export function apiMethods(): Record<string, Record<string, ApiMethod>> {
  if (loaded !== undefined) return loaded;
  const root = new protobuf.Root().loadSync(join(protoDir(), API_FILE), { keepCase: true });
  root.resolveAll();
  const pkg = root.lookup(API_PACKAGE);
  if (!(pkg instanceof protobuf.Namespace)) throw new Error(`${API_FILE} has no package ${API_PACKAGE}`);
  const services: Record<string, Record<string, ApiMethod>> = {};
  for (const service of pkg.nestedArray) {
    if (!(service instanceof protobuf.Service)) continue;
    const methods: Record<string, ApiMethod> = {};
    for (const m of service.methodsArray) {
      const req = m.resolvedRequestType!;
      const res = m.resolvedResponseType!;
      methods[m.name] = {
        path: `/${API_PACKAGE}.${service.name}/${m.name}`,
        requestStream: m.requestStream === true,
        responseStream: m.responseStream === true,
        requestSerialize: (o: object) => asBuffer(req.encode(req.fromObject(o)).finish()),
        requestDeserialize: (b: Buffer) => req.toObject(req.decode(b), TO_OBJECT),
        responseSerialize: (o: object) => asBuffer(res.encode(res.fromObject(o)).finish()),
        responseDeserialize: (b: Buffer) => res.toObject(res.decode(b), TO_OBJECT),
      };
    }
    services[service.name] = methods;
  }
  loaded = services;
  return services;
}

/** protobufjs's writer already gives a Buffer under Node; a view over the same bytes otherwise. */
function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}
