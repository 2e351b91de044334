/**
 * The connection-swap director: a Flotilla node that finds workers by their tags
 * (role=worker, available=true), gives each client session a worker round-robin, and
 * forwards the session's steps to it. When a worker fails (refused, 5xx, no answer) it
 * retries on the next available worker, 3 times, 500 ms apart, so the client's session
 * carries on across the swap.
 */
import { startNode, type FlotillaNode } from 'flotilla';
import { Assigner } from './assigner.js';
import { AVAILABLE_WORKER, HTTP_TAG, ROLE_TAG, nodeOptions, serveJson, type Reply } from './common.js';

/** Retries after the first attempt, and the pause before each. */
export const RETRIES = 3;
export const RETRY_PAUSE_MS = 500;
/** Deadline of one attempt, ms: long enough for a worker to wait out a failover of the KV store. */
const ATTEMPT_TIMEOUT_MS = Number(process.env.ATTEMPT_TIMEOUT_MS ?? 10_000);

const assigner = new Assigner();
const ref: { node?: FlotillaNode } = {};
const host = process.env.HTTP_HOST ?? '127.0.0.1';
const api = await serveJson(host, Number(process.env.HTTP_PORT ?? 0), (method, path, body) => handle(method, path, body));
const node = (ref.node = await startNode(nodeOptions(process.env, { [ROLE_TAG]: 'director' })));
process.stdout.write(`director ${node.nodeId} at ${node.address}, http ${host}:${api.port}\n`);

/** Available workers as this node sees them: node id -> HTTP address. */
function workers(self: FlotillaNode): Map<string, string> {
  return new Map(self.nodesWithAllTags(AVAILABLE_WORKER).flatMap((m) => (m.tags[HTTP_TAG] ? [[m.nodeId, m.tags[HTTP_TAG]] as const] : [])));
}

async function handle(method: string, path: string, body: unknown): Promise<Reply> {
  const self = ref.node;
  if (self === undefined) return { status: 503, body: { error: 'starting' } };
  if (method === 'GET' && path === '/workers') return { status: 200, body: Object.fromEntries(workers(self)) };
  const step = /^\/session\/([\w-]{1,64})\/step$/.exec(path);
  if (method !== 'POST' || step === null) return { status: 404, body: { error: 'not found' } };
  return forward(self, step[1]!, body);
}

/** Sends the step to the session's worker, swapping workers on failure. */
async function forward(self: FlotillaNode, session: string, body: unknown): Promise<Reply> {
  const failed = new Set<string>();
  const reasons: string[] = [];
  for (let attempt = 0; attempt <= RETRIES; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
    const available = workers(self);
    const worker = assigner.pick(session, [...available.keys()], failed);
    if (worker === undefined) {
      reasons.push('no available worker');
      continue;
    }
    try {
      const res = await fetch(`http://${available.get(worker)}/session/${session}/step`, {
        method: 'POST',
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
      });
      const answer = (await res.json()) as Record<string, unknown>;
      if (res.status < 500) return { status: res.status, body: { ...answer, attempts: attempt + 1 } };
      reasons.push(`${worker}: ${res.status}`);
    } catch (err) {
      reasons.push(`${worker}: ${err instanceof Error ? (err.cause as Error | undefined)?.message ?? err.message : String(err)}`);
    }
    failed.add(worker); // this request tries another worker; later ones may come back to it
  }
  return { status: 503, body: { error: `no worker served the step after ${RETRIES + 1} attempts`, reasons } };
}

const stop = (): void => {
  api.server.close();
  void node.leave().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
