// HTTP helpers for the admin server tests: one request per fresh connection (no pooled
// sockets left behind), a raw-socket exchange for requests a normal client cannot send,
// and a condition wait with a deadline instead of sleeps.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface HttpOptions {
  method?: string;
  /** Sent as given; `authorization` defaults to the test token (pass `null` to send none). */
  headers?: Record<string, string | null>;
  body?: string | Uint8Array;
}

/** The admin token the test servers are started with (`token: TEST_ADMIN_TOKEN`). */
export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789-abcdefghijklmnop';

/** `Authorization` header value carrying the test token. */
export const TEST_AUTHORIZATION = `Bearer ${TEST_ADMIN_TOKEN}`;

function headersOf(options: HttpOptions): Record<string, string> {
  const merged = Object.entries({ authorization: TEST_AUTHORIZATION, ...options.headers });
  return Object.fromEntries(merged.filter((entry): entry is [string, string] => entry[1] !== null));
}

/** One request on its own connection (`agent: false`), collecting the whole answer. */
export function request(port: number, path: string, options: HttpOptions = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: headersOf(options), agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** GET `path` and parse the body as JSON. */
export async function getJson(port: number, path: string): Promise<{ status: number; headers: IncomingHttpHeaders; json: unknown }> {
  const answer = await request(port, path);
  expectJsonContentType(answer.headers);
  return { status: answer.status, headers: answer.headers, json: JSON.parse(answer.body) };
}

export function expectJsonContentType(headers: IncomingHttpHeaders): void {
  if (headers['content-type'] !== 'application/json; charset=utf-8') {
    throw new Error(`expected a JSON content type, got ${String(headers['content-type'])}`);
  }
}

/**
 * Writes `text` on a raw TCP connection and resolves with everything the server sent once
 * it closes the connection (or once `until` matches what arrived, if given).
 */
export function rawExchange(port: number, text: string, until?: (received: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (until?.(received) === true) {
        socket.destroy();
        resolve(received);
      }
    });
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
    socket.write(text);
  });
}

/** Splits a raw HTTP/1.1 answer into status, lower-cased headers and body. */
export function parseRaw(raw: string): { status: number; headers: Record<string, string>; body: string } {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).split('\r\n');
  const status = Number(head[0]!.split(' ')[1]);
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status, headers, body: raw.slice(split + 4) };
}

/** Resolves once `condition()` holds; rejects after `timeoutMs` of polling. */
export async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** A raw connection that stays open: what it has received so far, and when it closed. */
export interface RawConnection {
  received(): string;
  readonly closed: Promise<void>;
}

/** Opens a raw TCP connection, writes `text` and leaves it open for the server to close. */
export function openRaw(port: number, text: string): RawConnection {
  const socket = connect({ host: '127.0.0.1', port });
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    received += chunk;
  });
  const closed = new Promise<void>((resolve) => {
    socket.on('close', () => resolve());
    // A reset from the server ends the exchange just as a close does.
    socket.on('error', () => undefined);
  });
  socket.write(text);
  return { received: () => received, closed };
}

/** Resolves with `promise`, or rejects if it has not settled within `timeoutMs`. */
export async function withDeadline<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}
