// End to end in etcd mode: the same as cluster-tests.test.ts (the local cluster of 3
// runners, then every bash suite through e2e.sh), with every runner, the launcher's and
// the suites' own, in etcd mode against a throwaway etcd (ETCD_ENDPOINTS), so the same
// suites pass with the registry, the leases and the partition locks in the path.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Etcd3 } from 'etcd3';
import { EtcdServer, etcdBinary } from '../helpers/etcd-server.js';
import { freeRange } from './free-ports.js';
import { READY_TIMEOUT_MS, runSuites, startLocalCluster, type LocalCluster } from './local-cluster.js';

/** How long the whole e2e run may take, ms. */
const E2E_TIMEOUT_MS = 900_000;

const missing = ['bash', 'curl', 'jq', 'etcd'].filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
if (missing.length > 0) process.stderr.write(`cluster-tests e2e in etcd mode skipped: ${missing.join(', ')} not installed\n`);
/** A short lease, so the suites' kill -9 fails over within their deadlines. */
const LEASE_TTL_SEC = '4';
let etcd: EtcdServer | undefined;
/** The environment that puts a runner in etcd mode. */
const etcdEnv = (): Record<string, string> => ({ ETCD_ENDPOINTS: etcd!.endpoint, ETCD_LEASE_TTL_SEC: LEASE_TTL_SEC });

let cluster: LocalCluster | undefined;

describe.skipIf(missing.length > 0 || etcdBinary() === undefined)('cluster-tests e2e in etcd mode', () => {
  beforeAll(async () => {
    etcd = await EtcdServer.start();
    cluster = await startLocalCluster(etcdEnv());
  }, READY_TIMEOUT_MS + 10_000);

  afterAll(async () => {
    await cluster?.stop();
    await etcd?.stop();
  }, 90_000);

  it('registers the local cluster\'s runners in etcd and locks every partition', async () => {
    const client = new Etcd3({ hosts: etcd!.endpoint });
    try {
      const runners = await client.getAll().prefix('/flotilla/flotilla/runners/').keys();
      expect(runners).toHaveLength(3);
      // Locks follow the table: wait (with a deadline) for the moves after the start to settle.
      const deadline = Date.now() + 60_000;
      let wrong: { partition: number; owner: string }[] = [];
      do {
        if (wrong.length > 0) await new Promise((r) => setTimeout(r, 200));
        const locks = await client.getAll().prefix('/flotilla/flotilla/locks/').strings();
        const shards = (await (await fetch(`${cluster!.baseUrl}/debug/shards`)).json()) as { partition: number; owner: string }[];
        wrong = shards.length === 0 ? [{ partition: -1, owner: '(no table)' }] : shards.filter((s) => locks[`/flotilla/flotilla/locks/${s.partition}`] !== s.owner);
      } while (wrong.length > 0 && Date.now() < deadline);
      expect(wrong.length, `partitions whose lock is not their owner's: ${JSON.stringify(wrong.slice(0, 5))}`).toBe(0);
    } finally {
      client.close();
    }
  });

  it(
    'passes every bash suite',
    async () => {
      const httpBase = await freeRange(3);
      const clusterBase = await freeRange(3, [httpBase]);
      // 1,000 keys instead of 10,000 in the basic suite: every route and check still runs in
      // etcd mode, and the volume itself is what cluster-tests.test.ts covers.
      const { code, report } = await runSuites(cluster!, [], { ...etcdEnv(), CLUSTER_HTTP_BASE: String(httpBase), CLUSTER_PORT_BASE: String(clusterBase), KV_KEYS: '1000' });
      expect(code, report).toBe(0);
    },
    E2E_TIMEOUT_MS,
  );
});
