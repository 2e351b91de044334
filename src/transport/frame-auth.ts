/**
 * The cryptography that authenticates cluster traffic with the cluster secret: one key
 * derived from the secret and the cluster id, a truncated HMAC tag on every UDP datagram,
 * and the proofs of the TCP handshake's challenge-response (the dialer proves first). A host without the secret can
 * neither forge a datagram nor complete a handshake, and cannot replay one.
 */
import { createHmac, createSecretKey, hkdfSync, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { Socket } from 'node:net';
import { FlotillaError } from '../core/errors.js';
import { isTlsSocket } from './tls-module.js';

/** Bytes of the derived frame key. */
export const FRAME_AUTH_KEY_BYTES = 32;

/** Shortest frame key accepted, in bytes (a shorter one is too weak to be a secret). */
export const FRAME_AUTH_KEY_BYTES_MIN = 16;

/** HKDF info label of the frame key; a new label gives an unrelated key. */
export const FRAME_AUTH_INFO = 'flotilla cluster frames v1';

/** Bytes of the HMAC-SHA256 tag appended to each datagram (truncated from 32). */
export const DATAGRAM_TAG_BYTES = 16;

/** Bytes of each side's random nonce in the TCP handshake. */
export const AUTH_NONCE_BYTES = 16;

/** Bytes of a handshake proof (a full HMAC-SHA256). */
export const HANDSHAKE_PROOF_BYTES = 32;

/** Bytes of TLS keying material a handshake proof is bound to when the connection is TLS. */
export const CHANNEL_BINDING_BYTES = 32;

/** RFC 5705 exporter label of that keying material. */
const CHANNEL_BINDING_LABEL = 'EXPERIMENTAL-flotilla-cluster-auth';

// Distinct prefixes keep a tag computed for one purpose from being valid for another.
const DATAGRAM_LABEL = Buffer.from('flotilla udp datagram v1\u0000', 'utf8');
const ROLE_LABELS = {
  dialer: Buffer.from('flotilla tcp dialer proof v2\u0000', 'utf8'),
  listener: Buffer.from('flotilla tcp listener proof v2\u0000', 'utf8'),
} as const;

/** Which side of a TCP handshake a proof comes from. */
export type HandshakeRole = keyof typeof ROLE_LABELS;

/**
 * The frame key of a cluster: HKDF-SHA256 of the cluster secret, salted with the cluster
 * id, so two clusters sharing a secret still have different keys. Compute it once at start.
 */
export function deriveFrameAuthKey(secret: string, clusterId: string): Uint8Array {
  if (secret.length === 0) throw new FlotillaError('FLO_CONFIG_INVALID', 'the cluster secret must not be empty');
  const key = hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.from(clusterId, 'utf8'), FRAME_AUTH_INFO, FRAME_AUTH_KEY_BYTES);
  return new Uint8Array(key);
}

/** Whether two MACs are equal, in time independent of where they differ. */
export function macsEqual(expected: Uint8Array, presented: Uint8Array): boolean {
  return expected.length === presented.length && timingSafeEqual(expected, presented);
}

/**
 * Tags outbound datagrams with the frame key and checks inbound ones against it, then
 * against the accepted keys (a previous secret's, during a rotation).
 */
export class DatagramAuthenticator {
  private readonly key: KeyObject;
  private readonly accepted: readonly KeyObject[];

  constructor(key: Uint8Array, accepted: readonly Uint8Array[] = []) {
    this.key = createSecretKey(key);
    this.accepted = accepted.map((k) => createSecretKey(k));
  }

  /** `bytes` followed by their tag: what goes on the wire. */
  seal(bytes: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(bytes.length + DATAGRAM_TAG_BYTES);
    out.set(bytes, 0);
    this.tag(bytes).copy(out, bytes.length, 0, DATAGRAM_TAG_BYTES);
    return out;
  }

  /**
   * The message bytes of a datagram whose tag is valid (a view, not a copy), or undefined
   * when the tag is missing or wrong. The tag is checked before anything is decoded.
   */
  open(datagram: Uint8Array): Uint8Array | undefined {
    if (datagram.length <= DATAGRAM_TAG_BYTES) return undefined;
    const bodyBytes = datagram.length - DATAGRAM_TAG_BYTES;
    const body = datagram.subarray(0, bodyBytes);
    const presented = datagram.subarray(bodyBytes);
    if (macsEqual(this.tag(body).subarray(0, DATAGRAM_TAG_BYTES), presented)) return body;
    for (const key of this.accepted) if (macsEqual(this.tag(body, key).subarray(0, DATAGRAM_TAG_BYTES), presented)) return body;
    return undefined;
  }

  private tag(bytes: Uint8Array, key: KeyObject = this.key): Buffer {
    return createHmac('sha256', key).update(DATAGRAM_LABEL).update(bytes).digest();
  }
}

/** A fresh random handshake nonce. */
export function freshNonce(): Buffer {
  return randomBytes(AUTH_NONCE_BYTES);
}

/**
 * One side's handshake proof: an HMAC over its role, the dialer's Hello exactly as sent
 * (its nonce, address and node id), the listener's nonce, and the TLS channel binding
 * (empty on plain TCP). Both nonces make every transcript unique, so a recorded handshake
 * proves nothing on a new connection; the role keeps one side's proof from being
 * reflected back as the other's.
 */
export function handshakeProof(key: Uint8Array, role: HandshakeRole, hello: Uint8Array, listenerNonce: Uint8Array, channelBinding: Uint8Array): Buffer {
  const helloLength = Buffer.allocUnsafe(4);
  helloLength.writeUInt32BE(hello.length, 0);
  return createHmac('sha256', key).update(ROLE_LABELS[role]).update(helloLength).update(hello).update(listenerNonce).update(channelBinding).digest();
}

/** The TLS keying material both ends of a TLS connection share, or nothing on plain TCP. */
export function channelBindingOf(socket: Socket): Uint8Array {
  return isTlsSocket(socket) ? socket.exportKeyingMaterial(CHANNEL_BINDING_BYTES, CHANNEL_BINDING_LABEL, Buffer.alloc(0)) : new Uint8Array(0);
}
