// The epoch fence over real OS processes: three nodes share one store; the owner of an
// entity is stopped (SIGSTOP) while its handler waits to write; the others replace it
// and the new owner claims (and, in one variant, writes); then the old owner resumes.
// Its pending write must be refused and the stored state must stay the new owner's.
// Runs on a shared SQLite file, and on PostgreSQL when FLOTILLA_TEST_POSTGRES_URL is set.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { partitionOf } from '../../src/core/partition.js';
import { decodeState } from '../../src/entities/state-codec.js';
import { openStorage } from '../../src/storage/open-storage.js';
import type { Storage } from '../../src/storage/storage.js';
import { pollUntil } from '../cli/cli-process.js';
import type { CallOutcome, FenceNodeArgs, PendingAnswer, ReadyLine, RecordedWrite, RegisterState, TableAnswer } from './fixtures/fence-entity.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const FIXTURE = path.join(here, 'fixtures', 'fence-node.ts');
const ROOT = path.resolve(here, '..', '..');
const root = mkdtempSync(path.join(os.tmpdir(), 'flotilla-fence-proc-'));
const postgresUrl = process.env.FLOTILLA_TEST_POSTGRES_URL;
// Generous deadlines: each child starts TypeScript through tsx on a shared, loaded machine.
const START_DEADLINE_MS = 90_000;
const FAILOVER_DEADLINE_MS = 60_000;
/** How long the slow handler waits before it changes state: long enough to stop its process first. */
const SLOW_HANDLER_MS = 4_000;
const TEST_TIMEOUT_MS = 240_000;

if (postgresUrl === undefined || postgresUrl === '') {
  process.stderr.write('fencing-processes.test.ts: FLOTILLA_TEST_POSTGRES_URL is not set, skipping the PostgreSQL run\n');
}

/** One fixture process. */
interface FenceProcess {
  readonly child: ChildProcess;
  readonly output: string[];
  readonly ready: ReadyLine;
}

const running: FenceProcess[] = [];

afterEach(() => {
  for (const p of running.splice(0)) {
    p.child.kill('SIGCONT');
    p.child.kill('SIGKILL');
  }
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function spawnNode(args: FenceNodeArgs): Promise<FenceProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, JSON.stringify(args)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args.nodeId} not ready in ${START_DEADLINE_MS} ms:\n${output.join('\n')}`)), START_DEADLINE_MS);
    createInterface({ input: child.stderr! }).on('line', (line) => output.push(line));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output.push(line);
      if (!line.includes('"fenceNodeReady"')) return;
      clearTimeout(timer);
      const proc: FenceProcess = { child, output, ready: JSON.parse(line) as ReadyLine };
      running.push(proc);
      resolve(proc);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${args.nodeId} exited (${code ?? signal}) before it was ready:\n${output.join('\n')}`));
    });
  });
}

async function control<T>(p: FenceProcess, method: 'GET' | 'POST', route: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method, signal: AbortSignal.timeout(30_000) };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { 'content-type': 'application/json' };
  }
  const res = await fetch(new URL(route, p.ready.controlUrl), init);
  if (res.status >= 300) throw new Error(`${p.ready.nodeId} ${method} ${route}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Three nodes over one store, with a settled table: every node alive everywhere, each owning some partitions. */
async function startCluster(storage: FenceNodeArgs['storage']): Promise<FenceProcess[]> {
  const first = await spawnNode({ nodeId: 'f1', seeds: [], storage });
  const rest = await Promise.all(['f2', 'f3'].map((nodeId) => spawnNode({ nodeId, seeds: [first.ready.address], storage })));
  const nodes = [first, ...rest];
  await pollUntil(
    async () => {
      const tables = await Promise.all(nodes.map((n) => control<TableAnswer>(n, 'GET', '/table')));
      const t0 = tables[0]!;
      return tables.every((t) => t.version === t0.version && t.migrationsInFlight === 0 && t.alive.length === 3) && t0.version > 0 && new Set(t0.owners).size === 3;
    },
    'a settled table over three nodes',
    START_DEADLINE_MS,
    () => nodes.map((n) => n.output.slice(-5).join('\n')).join('\n'),
  );
  return nodes;
}

/** An id of a `Register` whose owner is not the master (stopping the master is another scenario). */
function pickEntity(table: TableAnswer): { id: string; partition: number; owner: string; epoch: number } {
  for (let i = 0; i < 10_000; i++) {
    const id = `reg-${i}`;
    const partition = partitionOf(`Register/${id}`, table.partitionCount);
    const owner = table.owners[partition]!;
    if (owner !== table.master) return { id, partition, owner, epoch: table.epochs[partition]! };
  }
  throw new Error('no entity owned by a non-master node');
}

async function storedState(storage: Storage, id: string): Promise<{ state: RegisterState; version: number } | undefined> {
  const stored = await storage.loadEntity('Register', id);
  return stored === undefined ? undefined : { state: decodeState(stored.state).state as RegisterState, version: stored.version };
}

/** The old owner's log lines saying it was deposed from a partition (the entity gate logs them). */
function depositions(p: FenceProcess): { partition: number; epoch: number }[] {
  const out: { partition: number; epoch: number }[] = [];
  for (const line of p.output) {
    if (!line.includes('deposed from partition')) continue;
    const entry = JSON.parse(line) as { partition: number; epoch: number };
    out.push({ partition: entry.partition, epoch: entry.epoch });
  }
  return out;
}

type Variant = 'new owner wrote' | 'new owner only claimed';

async function scenario(storageArgs: FenceNodeArgs['storage'], variant: Variant): Promise<void> {
  const nodes = await startCluster(storageArgs);
  const storage = await openStorage(storageArgs.kind === 'sqlite' ? storageArgs : { ...storageArgs, poolSize: 2 });
  try {
    const table = await control<TableAnswer>(nodes[0]!, 'GET', '/table');
    const target = pickEntity(table);
    const oldOwner = nodes.find((n) => n.ready.nodeId === target.owner)!;
    const survivors = nodes.filter((n) => n !== oldOwner);
    const describeAll = (): string => nodes.map((n) => `--- ${n.ready.nodeId}\n${n.output.slice(-8).join('\n')}`).join('\n');

    // A first value through another node: the old owner activates the entity and stores version 1.
    expect(await control<CallOutcome>(survivors[0]!, 'POST', '/call', { id: target.id, handler: 'set', args: ['v0'] })).toEqual({ ok: true, result: 'v0' });
    expect(await storedState(storage, target.id)).toEqual({ state: { value: 'v0', by: target.owner }, version: 1 });

    // The slow call runs on the owner; stop the process while its handler waits.
    await control(oldOwner, 'POST', '/start', { id: target.id, value: 'from-old', delayMs: SLOW_HANDLER_MS });
    await pollUntil(async () => (await control<PendingAnswer>(oldOwner, 'GET', '/pending')).started, 'the slow handler to start', 30_000, describeAll, 20);
    oldOwner.child.kill('SIGSTOP');

    // The survivors replace it: a table without it owning the partition, at a higher epoch.
    let newOwner = '';
    let newEpoch = 0;
    await pollUntil(
      async () => {
        const tables = await Promise.all(survivors.map((n) => control<TableAnswer>(n, 'GET', '/table')));
        const owners = new Set(tables.map((t) => t.owners[target.partition]));
        const epoch = tables[0]!.epochs[target.partition]!;
        if (owners.size !== 1 || owners.has(target.owner) || epoch <= target.epoch) return false;
        newOwner = [...owners][0]!;
        newEpoch = epoch;
        return true;
      },
      'a new owner of the partition on the survivors',
      FAILOVER_DEADLINE_MS,
      describeAll,
    );

    // The new owner records its epoch before it serves (eagerly, without any call).
    await pollUntil(
      async () => {
        const fence = (await storage.fences()).find((f) => f.partition === target.partition);
        return fence?.epoch === newEpoch && fence.owner === newOwner;
      },
      "the new owner's claim in storage",
      FAILOVER_DEADLINE_MS,
      describeAll,
    );
    let expected: RegisterState = { value: 'v0', by: target.owner };
    let expectedVersion = 1;
    if (variant === 'new owner wrote') {
      expect(await control<CallOutcome>(survivors[0]!, 'POST', '/call', { id: target.id, handler: 'set', args: ['from-new'] })).toEqual({ ok: true, result: 'from-new' });
      expected = { value: 'from-new', by: newOwner };
      expectedVersion = 2;
      expect(await control<CallOutcome>(survivors[1]!, 'POST', '/call', { id: target.id, handler: 'get' })).toEqual({ ok: true, result: expected });
    }
    expect(await storedState(storage, target.id)).toEqual({ state: expected, version: expectedVersion });

    // Any retry of the pending call is parked (on the survivors from now, on the old owner
    // as a second start), so storage can be read while it waits instead of racing it.
    for (const n of survivors) await control(n, 'POST', '/hold');
    // Resume the old owner: its handler's timer has long passed, its write goes out at the old epoch.
    oldOwner.child.kill('SIGCONT');
    let writes: RecordedWrite[] = [];
    await pollUntil(
      async () => {
        writes = await control<RecordedWrite[]>(oldOwner, 'GET', `/writes?id=${target.id}`);
        return writes.length >= 2;
      },
      "the resumed owner's pending write",
      FAILOVER_DEADLINE_MS,
      describeAll,
    );
    // Storage refused it (FLO_STALE_EPOCH), and the entity layer deposed the old owner from the partition.
    expect(writes.slice(0, 2)).toEqual([
      { id: target.id, partition: target.partition, epoch: target.epoch, writer: target.owner, outcome: 'ok:1' },
      { id: target.id, partition: target.partition, epoch: target.epoch, writer: target.owner, outcome: 'FLO_STALE_EPOCH' },
    ]);
    await pollUntil(() => depositions(oldOwner).some((d) => d.partition === target.partition && d.epoch === target.epoch), 'the deposition logged', 10_000, describeAll);
    // The stored state is the new owner's (its write, or the state it claimed over), and the
    // caller got no success: a refused write never acknowledges its call.
    expect(await storedState(storage, target.id)).toEqual({ state: expected, version: expectedVersion });
    expect((await control<PendingAnswer>(oldOwner, 'GET', '/pending')).outcome?.ok).not.toBe(true);

    // The entity layer answered the attempt FLO_NOT_OWNER (not stored, the call did not take
    // effect), so the old owner's routing retries it at the partition's owner, where it runs
    // again on top of the new owner's state. The routing deadline runs from the call's start,
    // pause included: when the pause outlasted it, the caller gets FLO_TIMEOUT and nothing re-runs.
    for (const n of nodes) await control(n, 'POST', '/release');
    let pending: PendingAnswer = { started: true, outcome: undefined };
    await pollUntil(
      async () => {
        pending = await control<PendingAnswer>(oldOwner, 'GET', '/pending');
        return pending.outcome !== undefined;
      },
      'the retried call to settle',
      FAILOVER_DEADLINE_MS,
      describeAll,
    );
    if (pending.outcome?.ok === true) {
      expect(pending.outcome.result).toBe('from-old');
      const finalTable = await control<TableAnswer>(survivors[0]!, 'GET', '/table');
      const final = await storedState(storage, target.id);
      expect(final).toEqual({ state: { value: 'from-old', by: finalTable.owners[target.partition] }, version: expectedVersion + 1 });
      expect(await control<CallOutcome>(survivors[0]!, 'POST', '/call', { id: target.id, handler: 'get' })).toEqual({ ok: true, result: final!.state });
    } else {
      expect(pending.outcome).toMatchObject({ ok: false, code: 'FLO_TIMEOUT' });
    }
    // No write of the old owner at its old epoch landed after the first.
    const landedStale = (await control<RecordedWrite[]>(oldOwner, 'GET', `/writes?id=${target.id}`)).filter((w) => w.epoch === target.epoch && w.outcome.startsWith('ok'));
    expect(landedStale).toHaveLength(1);
  } finally {
    await storage.close();
  }
}

describe('the epoch fence over real processes (SIGSTOP the owner)', () => {
  const sqlite = (name: string): FenceNodeArgs['storage'] => ({ kind: 'sqlite', path: path.join(root, name, 'flotilla.db') });

  it('sqlite: a deposed owner resumed after the new owner wrote has its pending write refused', () => scenario(sqlite('wrote'), 'new owner wrote'), TEST_TIMEOUT_MS);
  it('sqlite: a deposed owner resumed right after the new owner claimed has its pending write refused', () => scenario(sqlite('claimed'), 'new owner only claimed'), TEST_TIMEOUT_MS);
});

describe.skipIf(postgresUrl === undefined || postgresUrl === '')('the epoch fence over real processes on PostgreSQL', () => {
  const url = postgresUrl!;
  const schemas: string[] = [];
  const postgres = (name: string): FenceNodeArgs['storage'] => {
    const schema = `flo_fence_${process.pid}_${Date.now().toString(36)}_${name}`;
    schemas.push(schema);
    return { kind: 'postgres', url, schema };
  };

  afterAll(async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    } finally {
      await client.end();
    }
  });

  it('postgres: a deposed owner resumed after the new owner wrote has its pending write refused', () => scenario(postgres('wrote'), 'new owner wrote'), TEST_TIMEOUT_MS);
  it('postgres: a deposed owner resumed right after the new owner claimed has its pending write refused', () => scenario(postgres('claimed'), 'new owner only claimed'), TEST_TIMEOUT_MS);
});
