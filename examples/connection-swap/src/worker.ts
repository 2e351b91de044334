/**
 * A connection-swap worker: a Flotilla node tagged role=worker, available=true and
 * http=<its API>, serving session steps. A session's state lives in the cluster's KV
 * store, not in the worker, so any worker can carry on a session another one started.
 * Its backend can break (POST /fail) and heal (POST /recover); the worker then flips its
 * `available` tag, and the director stops (or resumes) sending it work.
 */
import { startNode } from 'flotilla';
import { AVAILABLE_TAG, HTTP_TAG, ROLE_TAG, nodeOptions, serveJson, type Reply } from './common.js';

/** A session as stored: the last step applied and the running total. */
interface Session {
  readonly seq: number;
  readonly total: number;
}

const host = process.env.HTTP_HOST ?? '127.0.0.1';
let backendUp = true;
// The HTTP API starts first: its port goes into the node's tags.
const ref: { node?: Awaited<ReturnType<typeof startNode>> } = {};
const api = await serveJson(host, Number(process.env.HTTP_PORT ?? 0), (method, path, body) => handle(method, path, body));
const node = (ref.node = await startNode(nodeOptions(process.env, { [ROLE_TAG]: 'worker', [AVAILABLE_TAG]: 'true', [HTTP_TAG]: `${host}:${api.port}` })));
process.stdout.write(`worker ${node.nodeId} at ${node.address}, http ${host}:${api.port}\n`);

async function handle(method: string, path: string, body: unknown): Promise<Reply> {
  const self = ref.node;
  if (self === undefined) return { status: 503, body: { error: 'starting' } };
  if (method === 'POST' && (path === '/fail' || path === '/recover')) {
    backendUp = path === '/recover';
    self.updateTag(AVAILABLE_TAG, String(backendUp)); // gossiped: the director sees it
    process.stdout.write(`worker ${self.nodeId} available=${backendUp}\n`);
    return { status: 200, body: { available: backendUp } };
  }
  const step = /^\/session\/([\w-]{1,64})\/step$/.exec(path);
  if (method !== 'POST' || step === null) return { status: 404, body: { error: 'not found' } };
  if (!backendUp) return { status: 503, body: { error: 'backend down' } };
  return applyStep(self, step[1]!, body as { seq?: unknown; add?: unknown });
}

/**
 * Applies step `seq` of a session once: a retried step (the director resends it after a
 * swap) answers the stored result instead of adding twice; a step from the future is a 409.
 */
async function applyStep(self: NonNullable<typeof ref.node>, id: string, body: { seq?: unknown; add?: unknown }): Promise<Reply> {
  const { seq, add } = body ?? {};
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(add)) return { status: 400, body: { error: 'expected {seq, add} integers' } };
  const key = `session/${id}`;
  const stored = ((await self.kv!.kvGet(key)) as Session | undefined) ?? { seq: 0, total: 0 };
  if ((seq as number) <= stored.seq) return { status: 200, body: { session: id, seq, total: stored.total, worker: self.nodeId, replayed: true } };
  if (seq !== stored.seq + 1) return { status: 409, body: { error: `expected step ${stored.seq + 1}, got ${String(seq)}` } };
  const next: Session = { seq: seq as number, total: stored.total + (add as number) };
  await self.kv!.kvPut(key, { ...next }); // acknowledged once the owner and its backup hold it
  return { status: 200, body: { session: id, seq, total: next.total, worker: self.nodeId } };
}

const stop = (): void => {
  api.server.close();
  void node.leave().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
