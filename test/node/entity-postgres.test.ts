import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { FlotillaNode } from '../../src/node/index.js';
import { Counter, FAST_TABLE, holders } from './entity-harness.js';
import { startCluster, stopAll, waitFor } from './helpers.js';

const url = process.env.FLOTILLA_TEST_POSTGRES_URL;
if (url === undefined) console.warn('entity-postgres.test.ts: FLOTILLA_TEST_POSTGRES_URL is unset, skipping the PostgreSQL entity tests');

describe.skipIf(url === undefined)('entities over PostgreSQL (2 nodes)', () => {
  let nodes: FlotillaNode[] = [];
  const schema = `flotilla_entities_${process.pid}_${Date.now().toString(36)}`;

  afterAll(async () => {
    await stopAll(nodes);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  });

  it('serializes increments from both nodes into one exact total, each node with its own pool', async () => {
    nodes = await startCluster(2, () => ({ partitions: FAST_TABLE, entities: [Counter], storage: { kind: 'postgres', url: url!, schema, poolSize: 4 } }));
    await waitFor(() => nodes.every((n) => n.partitionTable()?.assignments.some((a) => a.owner === n.nodeId) === true), 'both nodes own partitions', 30_000);
    const calls = nodes.flatMap((node) => Array.from({ length: 25 }, () => node.entity(Counter, 'pg').increment(1)));
    await Promise.all(calls);
    expect(await nodes[1]!.entity(Counter, 'pg').get()).toBe(50);
    expect(holders(nodes, 'Counter', 'pg')).toHaveLength(1);
  }, 60_000);
});
