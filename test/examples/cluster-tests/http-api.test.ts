// In-process tests of the runner's HTTP layer: routing, bodies, error shapes and the
// per-request deadline, with routes made up for the test (no cluster needed).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlotillaError } from '../../../src/core/errors.js';
import { errorResponse, RouteAnswer, startHttpApi, type HttpApi, type Route } from '../../../examples/cluster-tests/src/http-api.js';

// The runner imports `flotilla` as a user would; here it is the source tree.

let aborted = false;
const routes: Route[] = [
  { method: 'GET', path: '/echo/:a/:b', body: 'ignored', handle: (r) => ({ a: r.params.a, b: r.params.b, q: r.query.get('q') }) },
  { method: 'POST', path: '/echo', body: 'json', handle: (r) => r.body },
  { method: 'POST', path: '/nothing', body: 'ignored', handle: () => undefined },
  { method: 'GET', path: '/fail/catalogued', body: 'ignored', handle: () => Promise.reject(new FlotillaError('FLO_NO_OWNER', 'partition 7')) },
  {
    method: 'GET',
    path: '/fail/internal',
    body: 'ignored',
    handle: () => {
      throw new Error('secret detail');
    },
  },
  { method: 'GET', path: '/teapot', body: 'ignored', handle: () => new RouteAnswer(418, { short: true }) },
  {
    method: 'GET',
    path: '/hang',
    body: 'ignored',
    handle: (r) =>
      new Promise(() => {
        r.signal.addEventListener('abort', () => (aborted = true));
      }),
  },
];

let api: HttpApi;
let base: string;

beforeAll(async () => {
  api = await startHttpApi({ host: '127.0.0.1', port: 0, routes, requestTimeoutMs: 300, bodyBytesMax: 1024 });
  base = `http://127.0.0.1:${api.port}`;
});

afterAll(async () => {
  await api.close();
});

async function call(method: string, path: string, body?: string): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${base}${path}`, { method, ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }) });
  return { status: response.status, json: (await response.json()) as unknown };
}

describe('runner HTTP API', () => {
  it.each([
    ['decoded params and query', 'GET', '/echo/x%2Fy/%20z?q=1', undefined, 200, { a: 'x/y', b: ' z', q: '1' }],
    ['a JSON body comes back', 'POST', '/echo', '{"k":[1,null]}', 200, { k: [1, null] }],
    ['a bare JSON number', 'POST', '/echo', '42', 200, 42],
    ['undefined becomes null', 'POST', '/nothing', 'ignored body', 200, null],
    ['a non-200 answer', 'GET', '/teapot', undefined, 418, { short: true }],
  ])('%s', async (_name, method, path, body, status, json) => {
    expect(await call(method, path, body)).toEqual({ status, json });
  });

  it.each([
    ['malformed JSON', 'POST', '/echo', '{nope', 400, 'FLO_DECODE_MALFORMED'],
    ['a missing JSON body', 'POST', '/echo', undefined, 400, 'FLO_INVALID_ARGUMENT'],
    ['a malformed URL escape', 'GET', '/echo/%E0%A4%A/b', undefined, 400, 'FLO_INVALID_ARGUMENT'],
    ['an unknown route', 'GET', '/nope', undefined, 404, 'FLO_NOT_FOUND'],
    ['an unknown longer path', 'GET', '/echo/a/b/c', undefined, 404, 'FLO_NOT_FOUND'],
    ['a known path with the wrong method', 'DELETE', '/echo', undefined, 405, 'FLO_METHOD_NOT_ALLOWED'],
    ['a catalogued failure keeps its status', 'GET', '/fail/catalogued', undefined, 503, 'FLO_NO_OWNER'],
    ['an unexpected failure', 'GET', '/fail/internal', undefined, 500, 'FLO_INTERNAL'],
    ['a body over the limit', 'POST', '/echo', JSON.stringify('x'.repeat(2000)), 413, 'FLO_DECODE_OVERSIZED'],
  ])('%s is answered {error, code}', async (_name, method, path, body, status, code) => {
    const answer = await call(method, path, body);
    expect(answer.status).toBe(status);
    expect(answer.json).toEqual({ error: expect.any(String) as unknown, code });
  });

  it('does not leak the message of an unexpected error', async () => {
    const answer = await call('GET', '/fail/internal');
    expect(JSON.stringify(answer.json)).not.toContain('secret detail');
  });

  it('answers 504 FLO_TIMEOUT at the deadline and aborts the handler', async () => {
    const answer = await call('GET', '/hang');
    expect(answer).toEqual({ status: 504, json: { error: expect.stringContaining('300 ms') as unknown, code: 'FLO_TIMEOUT' } });
    expect(aborted).toBe(true);
  });

  it('keeps serving after errors on the same connection', async () => {
    for (let i = 0; i < 3; i++) {
      expect((await call('POST', '/echo', '{bad')).status).toBe(400);
      expect(await call('POST', '/echo', String(i))).toEqual({ status: 200, json: i });
    }
  });

  it('maps thrown values to the catalog', () => {
    expect(errorResponse(new FlotillaError('FLO_TIMEOUT'))).toEqual({ status: 504, body: { error: 'Operation timed out', code: 'FLO_TIMEOUT' } });
    expect(errorResponse('a string')).toEqual({ status: 500, body: { error: 'Internal error', code: 'FLO_INTERNAL' } });
  });
});
