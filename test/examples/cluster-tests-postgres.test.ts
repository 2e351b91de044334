// End to end on PostgreSQL: the cluster-tests local cluster (3 runner processes) keeps its
// entities, singletons, workflows and timers in a database of the throwaway PostgreSQL
// server, and the traits, cross-entity, activity, timer, singleton and workflow suites run
// against it. The singleton and workflow suites start kill -9 clusters of their own; each
// gets a database of its own, so no two clusters ever share fences.
import { spawnSync } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeRange } from './free-ports.js';
import { READY_TIMEOUT_MS, runSuites, startLocalCluster, type LocalCluster } from './local-cluster.js';

const rawUrl = process.env.FLOTILLA_TEST_POSTGRES_URL;
const postgresUrl = rawUrl === undefined || rawUrl === '' ? undefined : rawUrl;
/** How long the suites may take, ms. */
const E2E_TIMEOUT_MS = 600_000;
/**
 * The suites this file runs (name fragments for e2e.sh), in groups: each group is one
 * e2e.sh run, and a group whose suite starts a cluster of its own gets its own database.
 */
const GROUPS: readonly { readonly suites: readonly string[]; readonly ownCluster: boolean }[] = [
  { suites: ['traits', 'cross_entity', 'activities', 'timers'], ownCluster: false },
  { suites: ['singletons'], ownCluster: true },
  { suites: ['workflows'], ownCluster: true },
];

const missing = ['bash', 'curl', 'jq'].filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
if (postgresUrl === undefined) process.stderr.write('cluster-tests PostgreSQL e2e skipped: FLOTILLA_TEST_POSTGRES_URL is unset\n');

/** `url` with its database replaced by `database`. */
function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

describe.skipIf(missing.length > 0 || postgresUrl === undefined)('cluster-tests e2e on PostgreSQL', () => {
  const prefix = `flo_e2e_${process.pid}_${Date.now().toString(36)}`;
  const databases = [`${prefix}_cluster`, ...GROUPS.map((_, i) => `${prefix}_suite${i}`)];
  const admin = new pg.Pool({ connectionString: postgresUrl, max: 1 });
  let cluster: LocalCluster | undefined;

  beforeAll(async () => {
    for (const db of databases) await admin.query(`CREATE DATABASE "${db}"`);
    cluster = await startLocalCluster({ POSTGRES_URL: withDatabase(postgresUrl!, databases[0]!) });
  }, READY_TIMEOUT_MS + 30_000);

  afterAll(async () => {
    await cluster?.stop();
    for (const db of databases) await admin.query(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }, 120_000);

  it.each(GROUPS.map((group, i) => ({ ...group, database: databases[i + 1]!, name: group.suites.join(', ') })))(
    'passes the $name suites',
    async ({ suites, ownCluster, database }) => {
      // Ports for a suite's own cluster: free ones, as the SQLite e2e may run at the same time.
      const base = ownCluster ? await freeRange(20) : 0;
      const { code, report } = await runSuites(cluster!, suites, {
        ...(ownCluster ? { CLUSTER_HTTP_BASE: String(base), CLUSTER_PORT_BASE: String(base + 10), SUITE_POSTGRES_URL: withDatabase(postgresUrl!, database) } : {}),
        // Bounded for liveness only: the failover time is measured and reported, not asserted on time.
        SINGLETON_FAILOVER_MAX_S: '30',
      });
      expect(code, report).toBe(0);
    },
    E2E_TIMEOUT_MS,
  );
});
