/**
 * What the director and the workers share: the tags that make a node a worker, the node
 * options read from the environment, and a tiny JSON-over-HTTP server (the example keeps
 * to `node:http` so it reads without a framework).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StartNodeOptions } from 'flotilla';

/** Tags a worker carries: its role, whether it takes work now, and where its HTTP API is. */
export const ROLE_TAG = 'role';
export const AVAILABLE_TAG = 'available';
export const HTTP_TAG = 'http';
/** What the director asks the cluster for. */
export const AVAILABLE_WORKER = { [ROLE_TAG]: 'worker', [AVAILABLE_TAG]: 'true' } as const;

/** Largest request body either server reads, bytes. */
export const BODY_BYTES_MAX = 16 * 1024;

/** `k=v,k2=v2` of numbers (SWIM overrides such as probeIntervalMs=200). */
function numbers(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of (text ?? '').split(',').filter((s) => s.trim() !== '')) {
    const [key, value] = item.split('=');
    if (key === undefined || value === undefined || !Number.isFinite(Number(value))) throw new Error(`SWIM: expected key=number, got ${item}`);
    out[key.trim()] = Number(value);
  }
  return out;
}

/** The node options every process of the example reads from its environment. */
export function nodeOptions(env: NodeJS.ProcessEnv, tags: Record<string, string>): StartNodeOptions {
  return {
    ...(env.NODE_ID ? { nodeId: env.NODE_ID } : {}),
    listen: env.LISTEN ?? '127.0.0.1:0',
    seeds: env.SEEDS ? env.SEEDS.split(',') : [],
    ...(env.FLOTILLA_SECRET ? { secret: env.FLOTILLA_SECRET } : { dev: true }),
    swim: numbers(env.SWIM),
    tags,
    logLevel: 'warn',
  };
}

/** A handler's answer: status and JSON value. */
export interface Reply {
  readonly status: number;
  readonly body: unknown;
}

/** Handles one request: method, path, parsed JSON body (undefined when empty). */
export type Handler = (method: string, path: string, body: unknown) => Promise<Reply>;

async function readBody(req: IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > BODY_BYTES_MAX) throw new Error('body too large');
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}

function send(res: ServerResponse, reply: Reply): void {
  res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
}

/** Serves `handler` on `host:port`; resolves with the server and the port it got. */
export async function serveJson(host: string, port: number, handler: Handler): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    readBody(req)
      .then((body) => handler(req.method ?? 'GET', new URL(req.url ?? '/', 'http://x').pathname, body))
      .then((reply) => send(res, reply), (err: unknown) => send(res, { status: 400, body: { error: String(err) } }));
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  return { server, port: (server.address() as AddressInfo).port };
}
