/**
 * The admin API's key/value routes: `PUT`, `GET` and `DELETE /kv/{key}` and `GET /kv`,
 * answered by the node's `AdminKv` (the KV service of the sharding layer, which routes each key to its
 * owner). They let operators and process-level tests write and read cluster data over
 * plain HTTP, with the same JSON error shape as every other admin route.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FlotillaError } from '../core/errors.js';
import type { KvValue } from '../grid/kv-codec.js';
import { json, JSON_CONTENT_TYPE, type RouteResponse } from './admin-routes.js';
import type { AdminKv, AdminSource } from './admin-source.js';
import { consumeBody, send } from './http-io.js';
import { assertWellFormedStrings, decodeUtf8Strict } from './json-text.js';

/** Path of the store's size; keys live under `/kv/`. */
export const KV_PATH = '/kv';

/**
 * Largest `PUT /kv/{key}` body, in bytes. JSON text runs larger than the msgpack the
 * store keeps, so this sits above the store's own value limit (1 MiB by default), which
 * still applies after parsing.
 */
export const KV_BODY_BYTES_MAX = 2 * 1024 * 1024;

/** Methods `/kv/{key}` accepts. */
export const KV_KEY_METHODS = ['GET', 'HEAD', 'PUT', 'DELETE'] as const;

/** Methods `/kv` accepts. */
export const KV_SIZE_METHODS = ['GET', 'HEAD'] as const;

/** The KV routes as the docs list them (`{key}` stands for a percent-encoded key). */
export const KV_ROUTES: readonly { readonly method: string; readonly path: string }[] = [
  { method: 'PUT', path: '/kv/{key}' },
  { method: 'GET', path: '/kv/{key}' },
  { method: 'DELETE', path: '/kv/{key}' },
  { method: 'GET', path: '/kv' },
];

/** A request to one of the KV routes, once its path, method and body are read. */
export type KvRequest =
  | { readonly op: 'size' }
  | { readonly op: 'get'; readonly key: string }
  | { readonly op: 'delete'; readonly key: string }
  | { readonly op: 'put'; readonly key: string; readonly value: KvValue };

/** What a KV path names: the size, a key, or (undefined) something that is not a KV path. */
export type KvPath = { readonly kind: 'size' } | { readonly kind: 'key'; readonly key: string };

/**
 * Reads a KV path. The key is everything after `/kv/`, percent-decoded, so a key holding
 * `/` or `?` must be sent encoded (`encodeURIComponent`).
 * @throws FlotillaError FLO_INVALID_ARGUMENT for an empty key or a bad percent-encoding.
 */
export function matchKvPath(pathname: string): KvPath | undefined {
  if (pathname === KV_PATH) return { kind: 'size' };
  if (!pathname.startsWith(`${KV_PATH}/`)) return undefined;
  const raw = pathname.slice(KV_PATH.length + 1);
  if (raw === '') throw new FlotillaError('FLO_INVALID_ARGUMENT', 'empty key: use /kv/{key}');
  try {
    return { kind: 'key', key: decodeURIComponent(raw) };
  } catch {
    throw new FlotillaError('FLO_INVALID_ARGUMENT', 'key is not valid percent-encoded UTF-8');
  }
}

/** Runs one KV request against `kv` and renders the answer. */
export async function kvResponse(kv: AdminKv, request: KvRequest): Promise<RouteResponse> {
  switch (request.op) {
    case 'size':
      return json(200, { size: await kv.kvSize() });
    case 'put':
      await kv.kvPut(request.key, request.value);
      return json(200, { ok: true });
    case 'delete':
      return json(200, { deleted: await kv.kvDelete(request.key) });
    case 'get': {
      const value = await kv.kvGet(request.key);
      if (value === undefined) throw new FlotillaError('FLO_NOT_FOUND', `no key ${JSON.stringify(request.key)}`);
      return { status: 200, contentType: JSON_CONTENT_TYPE, body: JSON.stringify({ key: request.key, value }, bytesAsBase64) };
    }
  }
}

/**
 * Serves `req` if its path is a KV path and answers true; answers false, touching
 * nothing, for any other path. Throws a `FlotillaError` for the caller to send (the
 * server's error path), after setting `Allow` on the response for a 405.
 */
export async function serveKvRequest(req: IncomingMessage, res: ServerResponse, url: URL, source: AdminSource): Promise<boolean> {
  const path = matchKvPath(url.pathname);
  if (path === undefined) return false;
  const kv = source.kv;
  if (kv === undefined) throw new FlotillaError('FLO_NOT_FOUND', `no route ${url.pathname}: this node serves no key/value store`, { path: url.pathname });
  const allowed: readonly string[] = path.kind === 'size' ? KV_SIZE_METHODS : KV_KEY_METHODS;
  const method = req.method ?? '';
  if (!allowed.includes(method)) {
    res.setHeader('allow', allowed.join(', '));
    throw new FlotillaError('FLO_METHOD_NOT_ALLOWED', `${method || '?'} ${url.pathname}; allowed: ${allowed.join(', ')}`, { allow: [...allowed] });
  }
  const param = url.searchParams.keys().next();
  if (param.done !== true) throw new FlotillaError('FLO_INVALID_ARGUMENT', `${url.pathname} takes no query parameter "${param.value}"`, { parameter: param.value });
  const request = await readRequest(req, method, path);
  send(res, await kvResponse(kv, request));
  return true;
}

async function readRequest(req: IncomingMessage, method: string, path: KvPath): Promise<KvRequest> {
  if (path.kind === 'size') {
    await consumeBody(req, 0);
    return { op: 'size' };
  }
  if (method === 'PUT') return { op: 'put', key: path.key, value: parseJsonBody(await readBody(req, KV_BODY_BYTES_MAX)) };
  await consumeBody(req, 0);
  return method === 'DELETE' ? { op: 'delete', key: path.key } : { op: 'get', key: path.key };
}

/**
 * The parsed JSON value of `body`. @throws FlotillaError FLO_INVALID_UTF8 when the bytes
 * are not UTF-8 or a string holds a lone surrogate (either would be stored altered),
 * FLO_INVALID_ARGUMENT when it is not JSON.
 */
export function parseJsonBody(body: Buffer): KvValue {
  const text = decodeUtf8Strict(body, 'request body');
  let value: KvValue;
  try {
    value = JSON.parse(text) as KvValue;
  } catch {
    throw new FlotillaError('FLO_INVALID_ARGUMENT', 'request body must be one JSON value');
  }
  assertWellFormedStrings(value, 'request body');
  return value;
}

/**
 * The whole body of `req`, if it fits in `bytesMax`; rejects with `FLO_DECODE_OVERSIZED`
 * as soon as it cannot (from the declared length, or while reading), without reading on.
 */
export function readBody(req: IncomingMessage, bytesMax: number): Promise<Buffer> {
  const tooLarge = (): FlotillaError => new FlotillaError('FLO_DECODE_OVERSIZED', `request body exceeds ${bytesMax} bytes`, { bodyBytesMax: bytesMax });
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > bytesMax) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > bytesMax) {
        req.off('data', onData);
        req.pause();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', (err) => reject(new FlotillaError('FLO_INVALID_ARGUMENT', `request body: ${err.message}`)));
  });
}

/** JSON has no bytes: a binary value (stored by another client) is shown as `{"$base64": ...}`. */
function bytesAsBase64(this: unknown, key: string, value: unknown): unknown {
  const original: unknown = typeof this === 'object' && this !== null ? (this as Record<string, unknown>)[key] : value;
  return original instanceof Uint8Array ? { $base64: Buffer.from(original).toString('base64') } : value;
}
