// A five-node cluster over two network namespaces for the real-network tests: n1 and n2
// in site 0 (n1 started first, so the oldest member and master), n3-n5 in site 1; and the
// KV writes those tests make, each counted only when acknowledged.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterProblem, waitFor, type AckedWrite } from './cluster-checks.js';
import { NetLab, type LabNodeOptions } from './netns.js';

export const SECRET = 'network-split-test-secret-0123456789';
export const SITE0 = ['n1', 'n2'];
export const SITE1 = ['n3', 'n4', 'n5'];
export const ALL = [...SITE0, ...SITE1];

/** Log level of the nodes (NETNS_LOG_LEVEL, e.g. `debug` to study a failure; `info` by default). */
const LOG_LEVEL = process.env.NETNS_LOG_LEVEL;

/** Starts n1, then the others, and waits for one cluster of five with one table; `extra` adds flags and environment to every node. */
export async function startFive(lab: NetLab, extra: Pick<LabNodeOptions, 'extraArgs' | 'env'> = {}): Promise<void> {
  const seeds = [NetLab.addressOf(0, 0), NetLab.addressOf(1, 0)];
  const start = (name: string, site: number): void => {
    lab.startNode({ name, site, seeds, secret: SECRET, ...extra, ...(LOG_LEVEL === undefined ? {} : { logLevel: LOG_LEVEL }) });
  };
  start('n1', 0);
  await waitFor('n1 up', 30_000, async () => ((await lab.admin('n1', 'GET', '/cluster/members')).status === 200 ? undefined : 'not yet'));
  start('n2', 0);
  for (const name of SITE1) start(name, 1);
  await waitFor('one cluster of five with one table', 60_000, () => clusterProblem(lab, ALL));
}

/** PUT `key` = `value` through `via`; the write counts only when acknowledged. */
export async function put(lab: NetLab, via: string, key: string, value: string, acked: AckedWrite[]): Promise<boolean> {
  const answer = await lab.admin(via, 'PUT', `/kv/${encodeURIComponent(key)}`, value, 3_000).catch(() => undefined);
  if (answer?.status !== 200) return false;
  acked.push({ key, value, ackedAt: Date.now() });
  return true;
}

/** The value each key must end with: its last acknowledged write. */
export function expectedValues(acked: readonly AckedWrite[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const w of [...acked].sort((a, b) => a.ackedAt - b.ackedAt)) out.set(w.key, w.value);
  return out;
}

/** Stops `lab`; after a failed test (or always, with NETNS_KEEP_LOGS=1) its node logs are kept under the temp dir first (and the path printed). */
export async function closeLab(lab: NetLab | undefined, failed: boolean): Promise<void> {
  if (lab === undefined) return;
  if (failed || process.env.NETNS_KEEP_LOGS === '1') {
    const dir = join(tmpdir(), `${lab.id}-logs`);
    lab.saveLogs(dir);
    process.stderr.write(`node logs of the failed test: ${dir}\n`);
  }
  await lab.destroy();
}
