/**
 * cluster-basic: the smallest useful Flotilla program. It starts a node, joins the
 * cluster through SEEDS (or forms one), prints membership events as they happen, and
 * every few seconds lists the members carrying the tag role=worker.
 */
import { serveAdmin, startNode } from 'flotilla';

const env = process.env;
const say = (line: string): boolean => process.stdout.write(`${line}\n`);

// One node per process. Every field here has a default; see docs/configuration.md.
const node = await startNode({
  nodeId: env.NODE_ID, // default: node-<random hex>
  listen: env.LISTEN ?? '127.0.0.1:7946', // UDP and TCP on one port
  seeds: env.SEEDS ? env.SEEDS.split(',') : [], // none: form a new cluster
  secret: env.FLOTILLA_SECRET, // every node of the cluster shares it
  dev: env.FLOTILLA_SECRET === undefined, // no secret: the public dev secret (local only!)
  tags: { role: env.ROLE ?? 'worker' }, // gossiped to every member
  partitions: false, // membership only: this example hosts no data
  logLevel: 'warn',
});
say(`${node.nodeId} up at ${node.address}, master ${node.master()}`);

// Optional: the admin API, so `flotilla members --tag role=worker` can ask this node.
const admin = env.ADMIN ? await serveAdmin(node, { port: Number(env.ADMIN), token: env.FLOTILLA_ADMIN_TOKEN }) : undefined;
if (admin) say(`admin API on port ${admin.address().port}`);

// Membership events: NodeJoined, NodeFailed, NodeLeft, NodeRecovered, NodeTagsUpdated...
const events = node.events.subscribe();
void (async () => {
  for await (const event of events) {
    if ('member' in event) say(`event ${event.type} ${event.member.nodeId} ${JSON.stringify(event.member.tags)}`);
    else say(`event ${event.type}`);
  }
})();

// Service discovery inside the program: alive members carrying a tag.
const report = (): void => {
  const workers = node.nodesWithTag('role', 'worker').map((m) => `${m.nodeId}@${m.address}`);
  say(`workers: ${workers.sort().join(' ') || '(none)'}`);
};
const timer = setInterval(report, Number(env.REPORT_MS ?? 5_000));

// SIGINT/SIGTERM: leave gracefully, so peers record "left" rather than "failed".
const stop = async (): Promise<void> => {
  clearInterval(timer);
  await admin?.close();
  await node.leave();
  say(`${node.nodeId} left`);
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
