/**
 * `node:tls`, loaded on first use. An ES module import of a Node builtin reads every
 * export once to build its namespace, and `tls.rootCertificates` is a getter that parses
 * Node's whole root store and keeps it for the life of the process (about 0.2 MiB, plus
 * OpenSSL's work): a cost every node paid even without TLS. `require` builds no namespace.
 */
import { createRequire } from 'node:module';
import type * as Tls from 'node:tls';

const load = createRequire(import.meta.url);
let tls: typeof Tls | undefined;

/** The `node:tls` module, loaded by the first call. */
export function tlsModule(): typeof Tls {
  tls ??= load('node:tls') as typeof Tls;
  return tls;
}

/** Whether `socket` is a TLS socket (Node marks them `encrypted`), without loading `node:tls`. */
export function isTlsSocket(socket: object): socket is Tls.TLSSocket {
  return (socket as { encrypted?: unknown }).encrypted === true;
}
