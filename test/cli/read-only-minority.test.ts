// The minority is read-only, over real `flotilla start` processes: five nodes settle,
// then three are frozen with SIGSTOP, so the two still running lose sight of a majority.
// Within a few probe periods they refuse KV writes with FLO_READ_ONLY (HTTP 503) while
// reads of the keys they own go on; once the three resume (SIGCONT), the verdict lifts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionOf } from '../../src/core/partition.js';
import { freeClusterPort } from '../../src/cli/dev-command.js';
import type { PartitionsReport } from '../../src/gateway/admin-source.js';
import { adminCall, adminUrlOf, pollUntil, startNodeProcess, type NodeProcess } from './cli-process.js';

const SECRET = 'read-only-minority-test-secret-0123456789';
const PARTITIONS = 271;
const KEY_COUNT = 200;
const SETTLE_MS = 60_000;

interface Node {
  readonly process: NodeProcess;
  url: string;
}

const names = ['n1', 'n2', 'n3', 'n4', 'n5'];
const frozen = ['n1', 'n2', 'n3'];
const minority = ['n4', 'n5'];
const nodes = new Map<string, Node>();

async function launch(name: string, seed: string): Promise<Node> {
  const address = `127.0.0.1:${await freeClusterPort('127.0.0.1')}`;
  const process = startNodeProcess({ name, address, seed: seed || address, secret: SECRET });
  const node: Node = { process, url: '' };
  nodes.set(name, node);
  await pollUntil(() => (node.url = adminUrlOf(process) ?? '') !== '', `${name}'s admin API`, SETTLE_MS, () => process.proc.stderr.join('\n'));
  return node;
}

const url = (name: string): string => nodes.get(name)!.url;

async function table(name: string): Promise<PartitionsReport> {
  const answer = await adminCall(url(name), 'GET', '/cluster/partitions');
  if (answer.status !== 200) throw new Error(`${name}: ${answer.status}`);
  return answer.body as PartitionsReport;
}

/** Keys whose partition `owners` own in `report`, from key-0 on. */
function keysOwnedBy(report: PartitionsReport, owners: readonly string[], count: number): string[] {
  const keys: string[] = [];
  for (let i = 0; keys.length < count; i++) {
    const key = `k-${i}`;
    if (owners.includes(report.partitions[partitionOf(key, PARTITIONS)]!.owner ?? '')) keys.push(key);
  }
  return keys;
}

beforeAll(async () => {
  const first = await launch('n1', '');
  const seed = first.process.address;
  for (const name of names.slice(1)) await launch(name, seed);
  await pollUntil(
    async () => {
      const reports = await Promise.all(names.map((n) => table(n)));
      const owners = new Set(reports[0]!.partitions.map((p) => p.owner));
      return reports.every((r) => r.version === reports[0]!.version) && names.every((n) => owners.has(n));
    },
    'five nodes sharing one table',
    SETTLE_MS,
  );
}, 120_000);

afterAll(async () => {
  for (const node of nodes.values()) {
    node.process.proc.child.kill('SIGCONT');
    node.process.proc.child.kill('SIGKILL');
  }
  await Promise.all([...nodes.values()].map((n) => n.process.proc.exited));
});

describe('a node without quorum', () => {
  it('refuses writes with FLO_READ_ONLY and keeps reading; the verdict lifts after the heal', async () => {
    const report = await table('n4');
    const ownedHere = keysOwnedBy(report, minority, KEY_COUNT);
    for (const key of ownedHere) {
      const put = await adminCall(url('n4'), 'PUT', `/kv/${key}`, { v: key });
      expect(put.status, `${key}: ${JSON.stringify(put.body)}`).toBe(200);
    }

    const stoppedAt = Date.now();
    for (const name of frozen) nodes.get(name)!.process.proc.child.kill('SIGSTOP');
    // Each minority node reaches its own verdict (a probe period or so apart): wait for both.
    const probe = ownedHere[0]!;
    for (const name of minority) {
      let last: unknown;
      await pollUntil(
        async () => {
          // The same value as before: writes acknowledged before the verdict change nothing the test checks.
          const answer = await adminCall(url(name), 'PUT', `/kv/${probe}`, { v: probe }, 5_000);
          last = answer.body;
          return answer.status === 503 && (answer.body as { code?: string }).code === 'FLO_READ_ONLY';
        },
        `${name} refusing writes as read-only`,
        30_000,
        () => JSON.stringify(last),
        100,
      );
    }
    const readOnlyAfterMs = Date.now() - stoppedAt;
    process.stderr.write(`read-only-minority: writes refused ${readOnlyAfterMs} ms after the majority froze\n`);

    // Both minority nodes refuse every write; reads of what they own still answer.
    for (const name of minority) {
      for (const key of ownedHere.slice(0, 20)) {
        const put = await adminCall(url(name), 'PUT', `/kv/${key}`, { v: 'refused' }, 5_000);
        expect(put.status).toBe(503);
        expect((put.body as { code?: string }).code).toBe('FLO_READ_ONLY');
      }
    }
    for (const key of ownedHere) {
      const get = await adminCall(url('n5'), 'GET', `/kv/${key}`, undefined, 5_000);
      expect(get.status, key).toBe(200);
      expect((get.body as { value: unknown }).value).toEqual({ v: key });
    }

    for (const name of frozen) nodes.get(name)!.process.proc.child.kill('SIGCONT');
    // The verdict lifts once the minority sees a majority again. (Whether every write is then
    // served at once is the sharding layer's heal, which has an open bug after a frozen
    // majority resumes: see docs/simulator.md, open bugs.)
    for (const name of minority) {
      await pollUntil(
        async () => {
          const answer = await adminCall(url(name), 'GET', '/metrics', undefined, 5_000).catch(() => ({ status: 0, body: '' }));
          return answer.status === 200 && typeof answer.body === 'string' && /^flotilla_quorum_state\{[^}]*state="healthy"[^}]*\} 1$/m.test(answer.body);
        },
        `${name} writable again (quorum healthy) after the heal`,
        SETTLE_MS,
        undefined,
        250,
      );
    }
  }, 240_000);
});
