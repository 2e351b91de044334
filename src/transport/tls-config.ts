/**
 * TLS material for the cluster transport and the admin API: the node's certificate, its
 * private key and the cluster CA, as PEM. Loading and checking happen once, at start, so
 * a wrong file fails the node with one FLO_CONFIG_INVALID naming that file instead of
 * every peer refusing its handshakes later.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { FlotillaError } from '../core/errors.js';
import { tlsModule } from './tls-module.js';

/**
 * PEM text (or its bytes) of one node's TLS identity and the CA it trusts. Every node of
 * a TLS cluster presents `cert` (signed by a certificate in `ca`, optionally followed by
 * intermediates) and accepts only peers whose certificate chains to `ca`.
 */
export interface TlsMaterial {
  /** The node's certificate, PEM; intermediates may follow the leaf. */
  readonly cert: string | Uint8Array;
  /** The certificate's private key, PEM, unencrypted. */
  readonly key: string | Uint8Array;
  /** The CA certificate(s) peers must chain to, PEM (one or more). */
  readonly ca: string | Uint8Array;
}

/** Paths of the three PEM files (`--tls-cert`, `--tls-key`, `--tls-ca`). */
export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

/** Largest PEM file read, in bytes: certificates and keys are a few KiB; anything huge is a wrong path. */
export const TLS_PEM_BYTES_MAX = 1_048_576;

/** Most certificates accepted in one PEM (a chain or a CA bundle). */
export const TLS_PEM_CERTIFICATES_MAX = 64;

/** Oldest protocol version offered or accepted. */
export const TLS_MIN_VERSION = 'TLSv1.2';

const SERVER_AUTH_OID = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2';
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** How errors name each part: file paths when loaded from disk, option names otherwise. */
type Names = TlsFiles;

const INLINE_NAMES: Names = { cert: 'transport.tls.cert', key: 'transport.tls.key', ca: 'transport.tls.ca' };

function invalid(detail: string, details?: Record<string, unknown>): FlotillaError {
  return new FlotillaError('FLO_CONFIG_INVALID', detail, details);
}

/** PEM bytes or text as text. */
export function pemText(value: string | Uint8Array): string {
  return typeof value === 'string' ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
}

/**
 * Reads and checks the three PEM files. Throws FLO_CONFIG_INVALID naming the file that is
 * missing, unreadable, too large, not PEM, or that does not fit the others (a key of
 * another certificate, a certificate the CA did not sign, an expired certificate).
 */
export function loadTlsFiles(files: TlsFiles, nowMs: number = Date.now()): TlsMaterial {
  const material = { cert: readPem(files.cert, 'certificate'), key: readPem(files.key, 'key'), ca: readPem(files.ca, 'CA') };
  checkTlsMaterial(material, nowMs, files);
  return material;
}

function readPem(path: string, what: string): string {
  if (typeof path !== 'string' || path.trim() === '') throw invalid(`TLS ${what} file: a path is required`);
  try {
    const size = statSync(path).size;
    if (size > TLS_PEM_BYTES_MAX) throw invalid(`TLS ${what} file ${path}: ${size} bytes is over ${TLS_PEM_BYTES_MAX}; not a PEM file?`, { file: path });
    return readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof FlotillaError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (code ?? String(err));
    throw invalid(`TLS ${what} file ${path}: ${reason}`, { file: path, cause: code });
  }
}

/**
 * Checks that the material can serve mutual TLS: parsable PEM, a key matching the
 * certificate, a certificate signed by the CA, not expired, usable as both server and
 * client. Throws FLO_CONFIG_INVALID naming the part at fault (a file path when `names`
 * are paths, else `transport.tls.<part>`).
 */
export function checkTlsMaterial(material: TlsMaterial, nowMs: number = Date.now(), names: Names = INLINE_NAMES): void {
  if (typeof material !== 'object' || material === null) throw invalid('transport.tls must be an object of cert, key and ca');
  for (const part of ['cert', 'key', 'ca'] as const) {
    const value: unknown = material[part];
    if (typeof value !== 'string' && !(value instanceof Uint8Array)) throw invalid(`${names[part]}: PEM text or bytes are required`);
  }
  const chain = parseCertificates(pemText(material.cert), names.cert);
  const leaf = chain[0]!;
  const key = parseKey(pemText(material.key), names.key);
  if (!leaf.checkPrivateKey(key)) throw invalid(`${names.key} is not the private key of the certificate in ${names.cert}`, { file: names.key });
  if (Date.parse(leaf.validTo) < nowMs) throw invalid(`${names.cert}: certificate expired on ${leaf.validTo}`, { file: names.cert, validTo: leaf.validTo });
  checkUsage(leaf, names.cert);
  const authorities = parseCertificates(pemText(material.ca), names.ca);
  const signed = chain.some((c) => authorities.some((ca) => c.checkIssued(ca) && c.verify(ca.publicKey)));
  if (!signed) {
    throw invalid(`${names.cert} is not signed by a certificate in ${names.ca}: peers trusting that CA would refuse this node`, { file: names.cert, ca: names.ca });
  }
  try {
    tlsModule().createSecureContext({ cert: pemText(material.cert), key: pemText(material.key), ca: pemText(material.ca) });
  } catch (err) {
    throw invalid(`TLS material (${names.cert}, ${names.key}, ${names.ca}) rejected: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function parseCertificates(text: string, name: string): X509Certificate[] {
  const blocks = text.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw invalid(`${name}: no PEM certificate (expected -----BEGIN CERTIFICATE-----)`, { file: name });
  if (blocks.length > TLS_PEM_CERTIFICATES_MAX) throw invalid(`${name}: more than ${TLS_PEM_CERTIFICATES_MAX} certificates`, { file: name });
  return blocks.map((block) => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      throw invalid(`${name}: unreadable certificate: ${err instanceof Error ? err.message : String(err)}`, { file: name });
    }
  });
}

function parseKey(text: string, name: string): KeyObject {
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) throw invalid(`${name}: no PEM private key (expected -----BEGIN PRIVATE KEY-----)`, { file: name });
  try {
    return createPrivateKey({ key: text, format: 'pem' });
  } catch (err) {
    throw invalid(`${name}: unreadable private key (encrypted keys are not supported): ${err instanceof Error ? err.message : String(err)}`, { file: name });
  }
}

/** Every node is a TLS server (it accepts) and a client (it dials): the certificate must allow both. */
function checkUsage(leaf: X509Certificate, name: string): void {
  const usages = leaf.keyUsage as string[] | undefined;
  if (usages === undefined || usages.length === 0) return;
  const missing = [SERVER_AUTH_OID, CLIENT_AUTH_OID].filter((oid) => !usages.includes(oid));
  if (missing.length > 0) {
    throw invalid(`${name}: the certificate's extended key usage must allow both serverAuth and clientAuth (nodes accept and dial)`, { file: name });
  }
}
