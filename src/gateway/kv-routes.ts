/**
 * The admin API's key/value routes: `PUT`, `GET` and `DELETE /kv/{key}` and `GET /kv`,
 * answered by the node's `AdminKv` (the KV service of the sharding layer, which routes each key to its
 * owner). They let operators and process-level tests write and read cluster data over
 * plain HTTP, with the same JSON error shape as every other admin route.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, RequestPayload } from 'fastify';
import { FlotillaError } from '../core/errors.js';
import type { KvValue } from '../grid/kv-codec.js';
import { json, JSON_CONTENT_TYPE, type RouteResponse } from './admin-routes.js';
import type { AdminKv } from './admin-source.js';
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

/** Route hooks, in Fastify's shape, that refuse a request body (GET and HEAD bodies included). */
export interface NoBodyHooks {
  readonly preParsing: (request: FastifyRequest, reply: FastifyReply, payload: RequestPayload) => Promise<RequestPayload>;
  readonly preValidation: (request: FastifyRequest) => Promise<void>;
}

/** What the KV routes need from the admin application around them. */
export interface KvRouteHooks {
  readonly noBody: NoBodyHooks;
  /** Sends a route's answer. */
  readonly send: (reply: FastifyReply, response: RouteResponse) => void;
}

/**
 * Registers `GET`/`HEAD /kv` and `GET`/`HEAD`/`PUT`/`DELETE /kv/*` on `app`. The key is
 * read from the raw path (`matchKvPath`), not from the router's decoded parameter, so a
 * key holding an encoded `/` or `?` stays exactly what the client encoded. Path and query
 * are checked before any body is read.
 */
export function registerKvRoutes(app: FastifyInstance, kv: AdminKv, hooks: KvRouteHooks): void {
  const checkTarget = async (request: FastifyRequest, _reply: FastifyReply, payload: RequestPayload): Promise<RequestPayload> => {
    kvTargetOf(request.url);
    return payload;
  };
  const noBody = { preParsing: [checkTarget, hooks.noBody.preParsing], preValidation: hooks.noBody.preValidation, bodyLimit: 1 };
  const answer = async (request: FastifyRequest, reply: FastifyReply, toRequest: (key: string) => KvRequest): Promise<void> => {
    const path = kvTargetOf(request.url);
    hooks.send(reply, await kvResponse(kv, toRequest(path.kind === 'key' ? path.key : '')));
  };
  app.get(KV_PATH, noBody, (request, reply) => answer(request, reply, () => ({ op: 'size' })));
  app.get(`${KV_PATH}/*`, noBody, (request, reply) => answer(request, reply, (key) => ({ op: 'get', key })));
  app.delete(`${KV_PATH}/*`, noBody, (request, reply) => answer(request, reply, (key) => ({ op: 'delete', key })));
  app.put(`${KV_PATH}/*`, { bodyLimit: KV_BODY_BYTES_MAX, preParsing: checkTarget }, (request, reply) =>
    answer(request, reply, (key) => ({ op: 'put', key, value: parseJsonBody(bodyOf(request)) })),
  );
}

/** The KV path of a request target, its query checked empty. @throws FlotillaError FLO_INVALID_ARGUMENT, FLO_NOT_FOUND */
function kvTargetOf(target: string): KvPath {
  const url = new URL(target, 'http://admin.invalid');
  const path = matchKvPath(url.pathname);
  if (path === undefined) throw new FlotillaError('FLO_NOT_FOUND', `no route ${url.pathname}`, { path: url.pathname });
  const param = url.searchParams.keys().next();
  if (param.done !== true) throw new FlotillaError('FLO_INVALID_ARGUMENT', `${url.pathname} takes no query parameter "${param.value}"`, { parameter: param.value });
  return path;
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

function bodyOf(request: FastifyRequest): Buffer {
  return Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
}

/** JSON has no bytes: a binary value (stored by another client) is shown as `{"$base64": ...}`. */
function bytesAsBase64(this: unknown, key: string, value: unknown): unknown {
  const original: unknown = typeof this === 'object' && this !== null ? (this as Record<string, unknown>)[key] : value;
  return original instanceof Uint8Array ? { $base64: Buffer.from(original).toString('base64') } : value;
}
