import { describe, expect, it } from 'vitest';
import { FlotillaError } from '../../src/core/errors.js';
import type { LocalRole, MigrationInfo, TableChangedEvent } from '../../src/partitions/coordinator-events.js';
import type { Message, MigrateData } from '../../src/protocol/messages.js';
import { encodeValue, type KvChange } from '../../src/grid/kv-codec.js';
import { KvStore } from '../../src/grid/kv-store.js';
import { resolveMigrationConfig } from '../../src/sharding/config.js';
import { MigrationExecutor } from '../../src/sharding/migration-executor.js';
import { IncomingMigration } from '../../src/sharding/migration-incoming.js';
import type { ParticipantRole } from '../../src/sharding/participant.js';
import type { NodeLogger } from '../../src/node/service.js';

const P = 5;
const info: MigrationInfo = { migrationId: 'm1', partition: P, source: 'a', destination: 'b', role: 'owner', epoch: 2, tableVersion: 3 };
const silent: NodeLogger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
const addresses: Record<string, string> = { a: 'a:1', b: 'b:1' };

let clock = 0;
function put(key: string): KvChange {
  clock++;
  return { kind: 'put', key, entry: { value: encodeValue(key), version: { millis: clock, counter: 0, node: 'a' } } };
}

/** A source and a destination executor wired through an in-memory request function. */
function pair(options: { beforeDeliver?: (m: MigrateData) => void; fail?: (m: MigrateData) => FlotillaError | undefined } = {}) {
  const stores = { a: new KvStore({ valueBytesMax: 1 << 20, captureBytesMax: 1 << 26 }), b: new KvStore({ valueBytesMax: 1 << 20, captureBytesMax: 1 << 26 }) };
  const roles: Record<'a' | 'b', ParticipantRole> = { a: 'owner', b: 'none' };
  const readies: [string, number][] = [];
  const failures: [string, string][] = [];
  const delivered: MigrateData[] = [];
  const handedOver: number[][] = [];
  const handing = new Set<number>();
  /** The owner when neither a nor b is (a third node took the partition). */
  const owners = { other: 'c', master: 'm' };
  const config = resolveMigrationConfig({ windowBytesMax: 256 * 1024, startRetryDelayMs: 1 });
  const make = (self: 'a' | 'b'): MigrationExecutor =>
    new MigrationExecutor({
      self,
      participants: [stores[self]],
      config,
      logger: silent,
      request: async (to: string, message: Message): Promise<Message> => {
        await Promise.resolve();
        const m = message as MigrateData;
        const error = options.fail?.(m);
        if (error !== undefined) throw error;
        options.beforeDeliver?.(m);
        delivered.push(m);
        expect(to).toBe('b:1');
        return executors.b.onData('a:1', m);
      },
      addressOf: (id) => addresses[id],
      roleOf: () => roles[self],
      ownerOf: () => (roles.a === 'owner' ? 'a' : roles.b === 'owner' ? 'b' : owners.other),
      master: () => owners.master,
      ready: (id, lastSeq) => readies.push([id, lastSeq]),
      failed: (id, reason) => failures.push([id, reason]),
      handOver: (partitions) => {
        handedOver.push([...partitions]);
        for (const p of partitions) handing.add(p);
      },
      handingOver: (partition) => handing.has(partition),
      sleep: () => new Promise((resolve) => setTimeout(resolve, 1)),
    });
  const executors = { a: make('a'), b: make('b') };
  /** A client write on the source: apply, then wait for sealed migrations. */
  const write = (key: string): Promise<void> => {
    stores.a.apply(P, put(key));
    return executors.a.flushSealed(P);
  };
  return { stores, roles, readies, failures, delivered, handedOver, handing, owners, executors, write };
}

/** The table took `partition` from this node's `before` role to `after`. */
function lost(partition: number, before: LocalRole, after: LocalRole): TableChangedEvent {
  return { type: 'TableChanged', version: 9, previousVersion: 8, changedPartitions: [partition], localGained: [], localLost: [{ partition, before, after, epoch: 3 }] };
}

/** The table moved `partition` between two other nodes. */
function moved(partition: number): TableChangedEvent {
  return { type: 'TableChanged', version: 10, previousVersion: 9, changedPartitions: [partition], localGained: [], localLost: [] };
}

/** Five keys on a, moved to b by a sealed migration, committed (the table, then the finalize). */
async function committedMove(): Promise<ReturnType<typeof pair>> {
  const t = await copyReady(info);
  expect(t.executors.a.status().sealed).toBe(1);
  t.roles.a = 'none';
  t.roles.b = 'owner';
  t.executors.a.onTableChanged(lost(P, 'owner', 'none'));
  t.executors.a.onFinalize(info, 'source');
  return t;
}

const backupMove: MigrationInfo = { ...info, role: 'backup' };

/** Five keys on its owner a, copied to b as a backup: ready, not yet committed. */
function backupCopyReady(): Promise<ReturnType<typeof pair>> {
  return copyReady(backupMove);
}

/** Five keys on a, copied to b by `move`: ready, not yet committed. */
async function copyReady(move: MigrationInfo): Promise<ReturnType<typeof pair>> {
  const t = pair();
  for (let i = 0; i < 5; i++) t.stores.a.apply(P, put(`k${i}`));
  t.executors.b.onStart(move, 'destination');
  t.executors.a.onStart(move, 'source');
  await until(() => t.readies.length === 1);
  return t;
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 10_000 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve));
  expect(condition()).toBe(true);
}

describe('MigrationExecutor', () => {
  it('copies a partition with writes going on, catches up, seals, and carries later writes synchronously', async () => {
    const during: Promise<void>[] = [];
    const t: ReturnType<typeof pair> = pair({ beforeDeliver: (m) => void (m.seq > 0 && m.seq < 4 && during.push(t.write(`during-${m.seq}`))) });
    for (let i = 0; i < 3_000; i++) t.stores.a.apply(P, put(`k${i}-${'x'.repeat(200)}`));
    t.executors.b.onStart(info, 'destination');
    t.executors.a.onStart(info, 'source');
    await until(() => t.readies.length === 1);
    await Promise.all(during);
    expect(t.readies[0]![0]).toBe('m1');
    expect(t.executors.b.isReceiving(P)).toBe(true);
    expect(t.stores.b.partitionSize(P)).toBe(3_003);
    // Chunks first, each participant's last chunk, then deltas, then the seal.
    const kinds = t.delivered.map((m) => `${m.kind}${m.last ? '!' : ''}`);
    expect(kinds.indexOf('chunk!')).toBeGreaterThan(0);
    expect(kinds.at(-1)).toBe('delta!');
    expect(t.readies[0]![1]).toBe(t.delivered.at(-1)!.seq);

    // After the seal a write is acknowledged only once the destination has it.
    expect(t.executors.a.status().sealed).toBe(1);
    await t.write('after-seal');
    expect(t.stores.b.get(P, 'after-seal')).toBeDefined();

    // Commit: the destination serves, the source (no longer a replica) drops its copy.
    t.roles.a = 'none';
    t.roles.b = 'owner';
    t.executors.b.onFinalize(info, 'destination');
    t.executors.a.onFinalize(info, 'source');
    expect(t.stores.b.partitionSize(P)).toBe(3_004);
    // The source keeps its copy for `movedCopyRetainMs` (here one timer tick), then drops it.
    expect(t.stores.a.partitionSize(P)).toBe(3_004);
    await until(() => t.stores.a.partitionSize(P) === 0);
    expect(t.handedOver).toEqual([]);
    expect(t.executors.a.status()).toMatchObject({ outgoing: 0, incoming: 0 });
    expect(t.executors.b.status()).toMatchObject({ outgoing: 0, incoming: 0 });
    expect(t.failures).toEqual([]);
  });

  it('retries the first message until the destination has heard of the migration', async () => {
    const t = pair();
    t.stores.a.apply(P, put('k'));
    t.executors.a.onStart(info, 'source');
    await until(() => t.delivered.length > 0);
    expect(t.readies).toEqual([]);
    t.executors.b.onStart(info, 'destination');
    await until(() => t.readies.length === 1);
    expect(t.stores.b.get(P, 'k')).toBeDefined();
  });

  it('on cancel: the destination discards, the source keeps everything and stops streaming', async () => {
    const t = pair();
    for (let i = 0; i < 10; i++) t.stores.a.apply(P, put(`k${i}`));
    t.executors.b.onStart(info, 'destination');
    t.executors.a.onStart(info, 'source');
    await until(() => t.readies.length === 1);
    t.executors.b.onCancel(info, 'destination');
    t.executors.a.onCancel(info, 'source');
    expect(t.stores.b.partitionSize(P)).toBe(0);
    expect(t.stores.a.partitionSize(P)).toBe(10);
    const sent = t.delivered.length;
    await t.write('later');
    expect(t.delivered.length).toBe(sent);
    expect(t.stores.a.takeDeltas(P)).toEqual([]);
  });

  it('reports a failed stream, and a write waiting on a failed flush is not acknowledged', async () => {
    let broken = false;
    const t = pair({ fail: () => (broken ? new FlotillaError('FLO_CONNECTION_FAILED', 'peer gone') : undefined) });
    t.stores.a.apply(P, put('k'));
    t.executors.b.onStart(info, 'destination');
    t.executors.a.onStart(info, 'source');
    await until(() => t.readies.length === 1);
    broken = true;
    await expect(t.write('lost-link')).rejects.toMatchObject({ code: 'FLO_CONNECTION_FAILED' });
    expect(t.failures).toEqual([['m1', expect.stringContaining('FLO_CONNECTION_FAILED')]]);
    expect(t.executors.a.status().outgoing).toBe(0);
    await t.write('after-failure');
  });

  it('fails an incoming migration that sends unreadable data, and discards it', async () => {
    const t = pair();
    t.executors.b.onStart(info, 'destination');
    const bad: MigrateData = { type: 'MigrateData', migrationId: 'm1', partition: P, service: 'kv', kind: 'chunk', seq: 0, payload: new Uint8Array([0xc1]), last: false };
    expect(t.executors.b.onData('a:1', bad)).toMatchObject({ ok: false, errorCode: 'FLO_INVALID_ARGUMENT' });
    expect(t.failures).toEqual([['m1', expect.stringContaining('FLO_INVALID_ARGUMENT')]]);
    expect(t.executors.b.isReceiving(P)).toBe(false);
    expect(t.executors.b.onData('a:1', { ...bad, payload: new Uint8Array(0) })).toMatchObject({ ok: false, errorCode: 'FLO_NOT_FOUND' });
  });

  it('an owner whose partition the table takes away without a sealed move from it hands the data over instead of dropping it', async () => {
    const t = pair();
    for (let i = 0; i < 5; i++) t.stores.a.apply(P, put(`k${i}`));
    t.stores.a.apply(P + 1, put('backup-only'));
    // The others held this node dead and promoted its backup: no migration carried the data.
    t.roles.a = 'none';
    t.executors.a.onTableChanged({ ...lost(P, 'owner', 'none'), localLost: [lost(P, 'owner', 'none').localLost[0]!, lost(P + 1, 'backup', 'none').localLost[0]!] });
    expect(t.handedOver).toEqual([[P]]);
    expect(t.stores.a.partitionSize(P)).toBe(5);
    // A backup replica holds nothing its owner lacks: dropped as before.
    expect(t.stores.a.partitionSize(P + 1)).toBe(0);
    // Neither a migration back here nor a cancelled one discards data still to be handed over.
    t.executors.a.onStart({ ...info, source: 'b', destination: 'a' }, 'destination');
    t.executors.a.onCancel({ ...info, source: 'b', destination: 'a' }, 'destination');
    expect(t.stores.a.partitionSize(P)).toBe(5);
  });

  it('an owner demoted to backup without a move hands over too, and keeps its replica', () => {
    const t = pair();
    t.stores.a.apply(P, put('k'));
    t.roles.a = 'backup';
    t.executors.a.onTableChanged(lost(P, 'owner', 'backup'));
    expect(t.handedOver).toEqual([[P]]);
    expect(t.stores.a.partitionSize(P)).toBe(1);
  });

  it('an owner that moved the partition by a sealed migration hands nothing over: the commit carried it', async () => {
    const t = await committedMove();
    await until(() => t.stores.a.partitionSize(P) === 0);
    expect(t.handedOver).toEqual([]);
  });

  it('a committed move whose destination the next table does not name as owner: the kept copy is handed over', async () => {
    const t = await committedMove();
    // A stale master's commit: the cluster, under another master, gave the partition to c,
    // which starts empty.
    t.roles.b = 'none';
    t.owners.master = 'm2';
    t.executors.a.onTableChanged(moved(P));
    expect(t.handedOver).toEqual([[P]]);
    expect(t.stores.a.partitionSize(P)).toBe(5);
  });

  it('a committed move whose destination another master names owner afresh: the kept copy is handed over', async () => {
    const t = await committedMove();
    // The destination called the copy off on the master change; the new master, choosing
    // an owner for a partition it found without one, picked the same node, empty.
    t.owners.master = 'm2';
    t.executors.a.onTableChanged(moved(P));
    expect(t.handedOver).toEqual([[P]]);
    expect(t.stores.a.partitionSize(P)).toBe(5);
  });

  it('a later table of the same master naming the destination owner keeps the copy until its time is up', async () => {
    const t = await committedMove();
    t.executors.a.onTableChanged(moved(P));
    expect(t.handedOver).toEqual([]);
    expect(t.stores.a.partitionSize(P)).toBe(5);
    await until(() => t.stores.a.partitionSize(P) === 0);
    expect(t.handedOver).toEqual([]);
  });

  it('a committed move followed by another move under the same master: the kept copy is dropped, not handed over', async () => {
    const t = await committedMove();
    t.roles.b = 'none';
    t.executors.a.onTableChanged(moved(P));
    expect(t.handedOver).toEqual([]);
    expect(t.stores.a.partitionSize(P)).toBe(0);
  });

  it('a backup copy that lands under a later ownership epoch, its source no longer owner: handed to the owner, and kept', async () => {
    const t = await backupCopyReady();
    // a stalled; a new master gave the partition to c afresh and named b its backup.
    t.roles.a = 'none';
    t.roles.b = 'backup';
    t.executors.b.onFinalize(backupMove, 'destination', backupMove.epoch + 1);
    expect(t.handedOver).toEqual([[P]]);
    expect(t.stores.b.partitionSize(P)).toBe(5);
  });

  it('a backup copy committed under the epoch it planned hands nothing over', async () => {
    const t = await backupCopyReady();
    t.roles.b = 'backup';
    t.executors.b.onFinalize(backupMove, 'destination', backupMove.epoch);
    t.executors.a.onFinalize(backupMove, 'source', backupMove.epoch);
    expect(t.handedOver).toEqual([]);
    expect(t.stores.b.partitionSize(P)).toBe(5);
  });

  it('refuses data from anyone but the source', () => {
    const t = pair();
    t.executors.b.onStart(info, 'destination');
    const data: MigrateData = { type: 'MigrateData', migrationId: 'm1', partition: P, service: 'kv', kind: 'chunk', seq: 0, payload: new Uint8Array(0), last: true };
    expect(t.executors.b.onData('evil:1', data)).toMatchObject({ ok: false, errorCode: 'FLO_INVALID_ARGUMENT' });
    expect(t.executors.b.onData('a:1', { ...data, partition: P + 1 })).toMatchObject({ ok: false, errorCode: 'FLO_INVALID_ARGUMENT' });
    expect(t.executors.b.onData('a:1', data)).toMatchObject({ ok: true });
  });
});

describe('IncomingMigration', () => {
  const store = (): KvStore => new KvStore({ valueBytesMax: 1024, captureBytesMax: 1 << 20 });
  const msg = (seq: number, kind: 'chunk' | 'delta', last: boolean): MigrateData => ({
    type: 'MigrateData',
    migrationId: 'm1',
    partition: P,
    service: 'kv',
    kind,
    seq,
    payload: new Uint8Array(0),
    last,
  });

  it('applies in sequence order, holds early messages back, ignores duplicates, and says when it is caught up', () => {
    const s = store();
    const incoming = new IncomingMigration(info, 'a:1', new Map([['kv', s]]), 4);
    expect(incoming.accept(msg(2, 'delta', false))).toBe('buffered');
    expect(incoming.accept(msg(2, 'delta', false))).toBe('duplicate');
    expect(incoming.accept(msg(3, 'delta', true))).toBe('buffered');
    expect(incoming.accept(msg(1, 'chunk', true))).toBe('buffered');
    expect(incoming.accept(msg(0, 'chunk', false))).toBe('caught-up');
    expect(incoming.lastSeq).toBe(3);
    expect(incoming.accept(msg(1, 'chunk', true))).toBe('duplicate');
    expect(incoming.accept(msg(4, 'delta', false))).toBe('applied');
  });

  it('bounds what it holds back and refuses out-of-place or foreign messages', () => {
    const incoming = new IncomingMigration(info, 'a:1', new Map([['kv', store()]]), 2);
    incoming.accept(msg(5, 'chunk', false));
    incoming.accept(msg(6, 'chunk', false));
    expect(() => incoming.accept(msg(7, 'chunk', false))).toThrow(expect.objectContaining({ code: 'FLO_QUEUE_FULL' }));
    const fresh = new IncomingMigration(info, 'a:1', new Map([['kv', store()]]), 2);
    expect(() => fresh.accept(msg(0, 'delta', false))).toThrow(expect.objectContaining({ code: 'FLO_INVALID_ARGUMENT' }));
    expect(() => fresh.accept({ ...msg(0, 'chunk', false), service: 'grid' })).toThrow(expect.objectContaining({ code: 'FLO_INVALID_ARGUMENT' }));
  });
});
