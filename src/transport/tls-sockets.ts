/**
 * Where plain TCP and mutual TLS differ: how the listener is made, how a peer is dialed,
 * which event means "ready", and how a failed handshake is explained in the logs. The
 * framing above sees one kind of socket either way.
 */
import { connect as netConnect, createServer as createNetServer, type Server, type Socket } from 'node:net';
import type { ConnectionOptions, TLSSocket, TlsOptions } from 'node:tls';
import { pemText, TLS_MIN_VERSION, type TlsMaterial } from './tls-config.js';
import { isTlsSocket, tlsModule } from './tls-module.js';

/** A TCP listener and the event that hands over a socket ready for frames. */
export interface TcpListener {
  readonly server: Server;
  /** `connection` for plain TCP; `secureConnection` (after a verified handshake) for TLS. */
  readonly readyEvent: 'connection' | 'secureConnection';
}

/** The part of the transport configuration that decides plain versus TLS. */
export interface TlsSettings {
  readonly tls: TlsMaterial | undefined;
  /** Bound on the TLS handshake of an inbound connection, in ms. */
  readonly handshakeTimeoutMs: number;
}

function secureContextOptions(tls: TlsMaterial): { cert: string; key: string; ca: string; minVersion: typeof TLS_MIN_VERSION } {
  return { cert: pemText(tls.cert), key: pemText(tls.key), ca: pemText(tls.ca), minVersion: TLS_MIN_VERSION };
}

/**
 * Mutual TLS server options: every client must present a certificate chaining to `ca`,
 * or the handshake fails (and `tlsClientError` reports why).
 */
export function tlsServerOptions(tls: TlsMaterial, handshakeTimeoutMs: number): TlsOptions {
  return { ...secureContextOptions(tls), requestCert: true, rejectUnauthorized: true, handshakeTimeout: handshakeTimeoutMs };
}

/**
 * Client options: present our certificate and accept only a server chaining to `ca`.
 * The peer's host name is not matched against its certificate: the cluster CA is the
 * trust boundary, and node certificates need not name every address a node is reached by.
 */
export function tlsClientOptions(tls: TlsMaterial, host: string, port: number): ConnectionOptions {
  return { ...secureContextOptions(tls), host, port, rejectUnauthorized: true, checkServerIdentity: () => undefined };
}

/** A listener for framed connections: plain TCP, or mutual TLS when `settings.tls` is set. */
export function createTcpListener(settings: TlsSettings): TcpListener {
  if (settings.tls === undefined) return { server: createNetServer({ noDelay: true }), readyEvent: 'connection' };
  const server = tlsModule().createServer({ ...tlsServerOptions(settings.tls, settings.handshakeTimeoutMs), noDelay: true });
  return { server, readyEvent: 'secureConnection' };
}

/** Open an outbound connection: a plain socket, or a TLS socket when `settings.tls` is set. */
export function dialTcp(settings: { readonly tls?: TlsMaterial | undefined }, host: string, port: number): Socket {
  return settings.tls === undefined ? netConnect({ host, port }) : tlsModule().connect(tlsClientOptions(settings.tls, host, port));
}

/** The event after which `socket` may carry frames: `secureConnect` for TLS, else `connect`. */
export function readyEventOf(socket: Socket): 'connect' | 'secureConnect' {
  return isTlsSocket(socket) ? 'secureConnect' : 'connect';
}

/** Peer of a socket as `ip` and `port`. */
export interface RemoteEnd {
  readonly address: string;
  readonly port: number;
}

/**
 * Remembers the peer of each raw TCP socket a TLS listener accepts: when Node refuses a
 * client certificate it destroys the TLS socket before reporting it, and by then neither
 * socket can tell who the peer was.
 */
export class RemoteBook {
  private readonly remotes = new WeakMap<Socket, RemoteEnd>();

  /** Record the peer of a freshly accepted raw socket (the listener's `connection` event). */
  note(raw: Socket): void {
    this.remotes.set(raw, { address: raw.remoteAddress ?? '?', port: raw.remotePort ?? 0 });
  }

  /** The peer of a TLS socket, from the socket itself or from its recorded TCP socket. */
  remoteOf(socket: TLSSocket): RemoteEnd {
    if (socket.remoteAddress !== undefined) return { address: socket.remoteAddress, port: socket.remotePort ?? 0 };
    // `_parent` is the wrapped TCP socket; Node has kept that name since TLS sockets exist.
    const parent = (socket as unknown as { _parent?: Socket })._parent;
    return (parent === undefined ? undefined : this.remotes.get(parent)) ?? { address: '?', port: 0 };
  }
}

/** OpenSSL verification codes of certificates that do not chain to a trusted CA (the rest contain `CERT`). */
const certificateCodes = new Set(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT']);

/** Whether an error comes from TLS (handshake, certificate, alert) rather than from TCP. */
export function isTlsError(err: unknown): boolean {
  const code = codeOf(err);
  if (code === undefined) return false;
  return code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || certificateCodes.has(code) || code.includes('CERT');
}

/**
 * Why a TLS handshake failed, in words an operator can act on. `authorizationError` is
 * the verification failure Node records on the socket when it refuses a peer's
 * certificate (the error itself then only says the socket hung up).
 */
export function describeTlsFailure(err: unknown, authorizationError?: string | Error): string {
  const verify = typeof authorizationError === 'string' ? authorizationError : codeOf(authorizationError);
  if (verify !== undefined) return `peer certificate not trusted by our CA (${verify})`;
  const code = codeOf(err) ?? 'unknown';
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_HTTP_REQUEST' || code === 'ERR_SSL_UNKNOWN_PROTOCOL' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG') {
    return `peer does not speak TLS: a node without TLS configured? (${code})`;
  }
  if (code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE' || code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED') return `no client certificate presented (${code})`;
  if (code === 'ERR_TLS_HANDSHAKE_TIMEOUT') return 'TLS handshake timed out';
  if (code.includes('_ALERT_')) return `peer refused the handshake, probably our certificate (${code})`;
  if (certificateCodes.has(code) || code.includes('CERT')) return `certificate not trusted (${code}): ${message}`;
  if (code === 'ECONNRESET') return `connection closed during the TLS handshake: a peer without TLS, or one that refused our certificate (${message})`;
  return `${code}: ${message}`;
}

function codeOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}
