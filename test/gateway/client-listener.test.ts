// The client gateway's socket plumbing over real sockets: upgrades on any path reach the
// gateway, plain HTTP gets catalogued JSON, oversized frames close the socket, a taken
// port is FLO_CONFIG_INVALID, and close() leaves the port refusing.
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { listenForClients, type ClientListener } from '../../src/gateway/client-listener.js';
import { parseRaw, rawExchange, request, waitFor, withDeadline } from './http-helpers.js';

const DEADLINE_MS = 10_000;

const listeners: ClientListener[] = [];
const clients: WebSocket[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.terminate();
  await Promise.all(listeners.splice(0).map((l) => l.close()));
});

async function start(frameBytesMax = 1024): Promise<{ port: number; accepted: WebSocket[]; listener: ClientListener }> {
  const accepted: WebSocket[] = [];
  const listener = await listenForClients({ host: '127.0.0.1', port: 0, frameBytesMax, onConnection: (ws) => accepted.push(ws) });
  listeners.push(listener);
  return { port: listener.address().port, accepted, listener };
}

function open(port: number, path: string): { ws: WebSocket; closeCode: () => number | undefined; opened: Promise<void> } {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
  clients.push(ws);
  let code: number | undefined;
  ws.on('close', (c) => (code = c));
  ws.on('error', () => undefined);
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`status ${res.statusCode}`)));
  });
  return { ws, closeCode: () => code, opened };
}

describe('client listener', () => {
  it('hands upgrades on any path to the gateway and counts them', async () => {
    const { port, accepted, listener } = await start();
    for (const path of ['/', '/any/path?x=1']) await withDeadline(open(port, path).opened, DEADLINE_MS, `upgrade on ${path}`);
    await waitFor(() => accepted.length === 2, DEADLINE_MS, 'both connections to be accepted');
    expect(listener.clients.size).toBe(2);
  });

  it.each(['GET', 'POST', 'PUT'])('answers a plain %s with JSON 404 FLO_NOT_FOUND', async (method) => {
    const { port, accepted } = await start();
    const answer = await request(port, '/', { method, body: method === 'GET' ? undefined : '{}' });
    expect(answer.status).toBe(404);
    expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(answer.body)).toMatchObject({ code: 'FLO_NOT_FOUND', retryable: false });
    expect(accepted).toHaveLength(0);
  });

  it('answers a request that is not HTTP with JSON 400', async () => {
    const { port } = await start();
    const answer = parseRaw(await rawExchange(port, 'HELLO THERE\r\n\r\n'));
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ code: 'FLO_INVALID_ARGUMENT' });
  });

  it('closes a connection that sends a frame over frameBytesMax with 1009', async () => {
    const { port } = await start(1024);
    const c = open(port, '/');
    await withDeadline(c.opened, DEADLINE_MS, 'upgrade');
    c.ws.send(new Uint8Array(2048));
    await waitFor(() => c.closeCode() !== undefined, DEADLINE_MS, 'the close');
    expect(c.closeCode()).toBe(1009);
  });

  it('refuses a taken port with FLO_CONFIG_INVALID', async () => {
    const { port } = await start();
    await expect(listenForClients({ host: '127.0.0.1', port, frameBytesMax: 1024, onConnection: () => undefined })).rejects.toMatchObject({ code: 'FLO_CONFIG_INVALID' });
  });

  it('close() resolves once connections end and leaves the port refusing', async () => {
    const { port, accepted, listener } = await start();
    await withDeadline(open(port, '/').opened, DEADLINE_MS, 'upgrade');
    await waitFor(() => accepted.length === 1, DEADLINE_MS, 'the connection to be accepted');
    const closed = listener.close();
    for (const ws of accepted) ws.close(1001, 'closing');
    await withDeadline(closed, DEADLINE_MS, 'close()');
    listeners.splice(listeners.indexOf(listener), 1);
    await expect(request(port, '/')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
