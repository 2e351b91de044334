// A node's life over real sockets: health checks reach /health and the peers' view of
// its tags, the event stream reports what happens, a graceful leave is seen as a leave
// (never a failure), and an immediate stop is detected as a failure.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toAdminSource } from '../../src/cli/admin-source.js';
import { startAdminServer, type AdminServer } from '../../src/gateway/index.js';
import type { MembershipEvent } from '../../src/membership/events.js';
import type { CheckStatus, FlotillaNode, NodeEventItem } from '../../src/node/index.js';
import { converged, startCluster, stopAll, waitFor } from './helpers.js';
import { TEST_ADMIN_TOKEN } from '../gateway/http-helpers.js';

async function getHealth(admin: AdminServer): Promise<{ code: number; body: { status: string; checks: Record<string, { status: string }> } }> {
  const { host, port } = admin.address();
  const response = await fetch(`http://${host}:${port}/health`);
  return { code: response.status, body: (await response.json()) as { status: string; checks: Record<string, { status: string }> } };
}

function about(items: readonly NodeEventItem[], nodeId: string): string[] {
  return items.filter((e): e is MembershipEvent & { member: { nodeId: string } } => 'member' in e && e.member.nodeId === nodeId).map((e) => e.type);
}

describe('node lifecycle', () => {
  let nodes: FlotillaNode[] = [];

  beforeAll(async () => {
    nodes = await startCluster(4);
    await waitFor(() => converged(nodes), 'four nodes to converge');
  });

  afterAll(() => stopAll(nodes));

  it('reports health checks on /health and in its tags at peers', async () => {
    const [n1, n2] = nodes as [FlotillaNode, FlotillaNode];
    let disk: CheckStatus = 'healthy';
    const remove = n2.registerHealthCheck('disk', () => (disk === 'healthy' ? 'healthy' : { status: disk, detail: `disk is ${disk}` }));
    const admin = await startAdminServer({ token: TEST_ADMIN_TOKEN, source: toAdminSource(n2), host: '127.0.0.1', port: 0 });
    try {
      expect(await getHealth(admin)).toMatchObject({ code: 200, body: { status: 'ok', checks: { disk: { status: 'healthy' } } } });
      disk = 'degraded';
      await waitFor(() => n1.member('n2')?.tags.health === 'degraded', 'the degraded tag at a peer');
      expect(await getHealth(admin)).toMatchObject({ code: 200, body: { status: 'degraded' } });
      disk = 'unhealthy';
      await waitFor(() => n1.member('n2')?.tags.health === 'unhealthy', 'the unhealthy tag at a peer');
      expect(await getHealth(admin)).toMatchObject({ code: 503, body: { status: 'unhealthy' } });
      n2.registerHealthCheck('broken', () => {
        throw new Error('boom');
      });
      expect(n2.health().checks.broken).toEqual({ status: 'unhealthy', detail: 'check threw: boom' });
      disk = 'healthy';
      n2.registerHealthCheck('broken', () => 'healthy');
      await waitFor(() => n1.member('n2')?.tags.health === undefined, 'the tag to go once healthy again');
      expect(await getHealth(admin)).toMatchObject({ code: 200, body: { status: 'ok' } });
    } finally {
      remove();
      await admin.close();
    }
  });

  it('delivers membership events to subscribers and wakes waiting readers', async () => {
    const n1 = nodes[0]!;
    const subscription = n1.events.subscribe({ bufferSize: 100 });
    const next = subscription.next();
    nodes[2]!.updateTag('color', 'blue');
    const item = await next;
    expect(item).toMatchObject({ type: 'NodeTagsUpdated', member: { nodeId: 'n3' } });
    subscription.close();
    expect(await subscription.next()).toBeUndefined();
  });

  it('leaves gracefully: the others record it as left, never failed', async () => {
    const [n1, n2, n3, n4] = nodes as [FlotillaNode, FlotillaNode, FlotillaNode, FlotillaNode];
    const watchers = [n1, n2, n3].map((n) => n.events.subscribe());
    await n4.leave();
    expect(n4.state()).toBe('stopped');
    expect(n4.health().status).toBe('stopped');
    await waitFor(() => [n1, n2, n3].every((n) => n.member('n4')?.state === 'left'), 'every node to record n4 as left');
    await waitFor(() => converged([n1, n2, n3]), 'the three others to converge on a view without n4');
    for (const watcher of watchers) {
      const seen = about(watcher.drain(), 'n4');
      expect(seen).toContain('NodeLeft');
      expect(seen).not.toContain('NodeFailed');
      expect(seen).not.toContain('NodeSuspected');
      watcher.close();
    }
    await n4.leave();
  });

  it('stops at once: the others detect a failure', async () => {
    const [n1, n2, n3] = nodes as [FlotillaNode, FlotillaNode, FlotillaNode];
    const watcher = n1.events.subscribe();
    await n3.stop();
    expect(n3.state()).toBe('stopped');
    await waitFor(() => [n1, n2].every((n) => n.member('n3')?.state === 'dead'), 'n1 and n2 to declare n3 dead');
    expect(about(watcher.drain(), 'n3')).toContain('NodeFailed');
    watcher.close();
  });
});
