// End to end: starts the cluster-tests local cluster (3 runner processes on free ports,
// a temporary data directory), runs the bash suites (e2e.sh) against it, and requires
// them all to pass. Slow by nature: real processes, restarts and a kill -9 failover.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_ADMIN_TOKEN } from '../../src/gateway/index.js';
import { freeRange } from './free-ports.js';
import { READY_TIMEOUT_MS, runSuites, startLocalCluster, type LocalCluster } from './local-cluster.js';

/** How long the whole e2e run may take, ms. */
const E2E_TIMEOUT_MS = 900_000;

const missing = ['bash', 'curl', 'jq'].filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
if (missing.length > 0) process.stderr.write(`cluster-tests e2e skipped: ${missing.join(', ')} not installed\n`);

let cluster: LocalCluster | undefined;

describe.skipIf(missing.length > 0)('cluster-tests e2e', () => {
  beforeAll(async () => {
    cluster = await startLocalCluster({});
  }, READY_TIMEOUT_MS + 10_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 90_000);

  it(
    'passes every bash suite',
    async () => {
      const httpBase = await freeRange(3);
      const clusterBase = await freeRange(3, [httpBase]);
      // The suite reports the singleton's failover time; here it only bounds it (liveness), as
      // this runs beside the rest of the tests: the 5 s figure is measured, not asserted on time.
      const { code, report } = await runSuites(cluster!, [], { CLUSTER_HTTP_BASE: String(httpBase), CLUSTER_PORT_BASE: String(clusterBase), SINGLETON_FAILOVER_MAX_S: '30' });
      expect(code, report).toBe(0);
    },
    E2E_TIMEOUT_MS,
  );

  it('serves the admin API beside the runner API, with the entities it hosts', async () => {
    const { baseUrl, adminUrl } = cluster!;
    expect(adminUrl).not.toBe('');
    const id = `admin-check-${process.pid}`;
    const inc = await fetch(`${baseUrl}/counter/${id}/increment`, { method: 'POST', body: '3', headers: { 'content-type': 'application/json' } });
    expect(await inc.json()).toBe(3);
    const health = (await (await fetch(`${adminUrl}/health`)).json()) as { status: string };
    expect(health.status).toBe('ok');
    // The launcher runs without a secret (dev mode), so the admin API takes the public dev token.
    const auth = { headers: { authorization: `Bearer ${DEV_ADMIN_TOKEN}` } };
    expect((await fetch(`${adminUrl}/cluster/members`)).status).toBe(401);
    const members = (await (await fetch(`${adminUrl}/cluster/members`, auth)).json()) as { members: unknown[] };
    expect(members.members).toHaveLength(3);
    const metrics = await (await fetch(`${adminUrl}/metrics`)).text();
    expect(metrics).toContain('flotilla_entity_calls_total');
    const entities = (await (await fetch(`${adminUrl}/entities?type=Counter&limit=10000`, auth)).json()) as { types: { type: string }[] };
    expect(entities.types.map((t) => t.type)).toContain('Counter');
  });
});
