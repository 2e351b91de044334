import { describe, expect, it } from 'vitest';
import { FlotillaError } from '../../src/core/errors.js';
import { ClusterPartitionTable } from '../../src/partitions/partition-table.js';
import type { Message, ServiceRequest } from '../../src/protocol/messages.js';
import { resolveRoutingConfig } from '../../src/sharding/config.js';
import { routeLocal } from '../../src/sharding/local-call.js';
import { RequestRouter, RoutingClient } from '../../src/sharding/routing.js';
import type { LocalCall, PartitionHandler } from '../../src/sharding/service.js';
import { SteppedTimers } from '../fixtures/timers.js';

/** Partition p is owned by owners[p]. */
function tableOf(owners: readonly string[]): ClusterPartitionTable {
  return ClusterPartitionTable.fromData({ version: 5, partitionCount: owners.length, assignments: owners.map((owner, partition) => ({ partition, owner, backups: [], epoch: 1 })) });
}

/** A call whose payload is its one byte, counting its encodes. */
function callOf(byte: number, isWrite = true): LocalCall & { encodes: number } {
  return {
    isWrite,
    encodes: 0,
    encode() {
      this.encodes++;
      return new Uint8Array([byte]);
    },
  };
}

type Outcome = Uint8Array | FlotillaError;

/**
 * Node `a` with one `kv` handler: `outcomes` answers its successive runs, through the byte
 * path (`handle`) and the local one (`handleLocal`) alike; peers answer [9].
 */
function node(outcomes: Outcome[], options: { owners?: readonly string[]; readOnly?: () => boolean; refusal?: FlotillaError } = {}) {
  const timers = new SteppedTimers(1_000);
  const table = tableOf(options.owners ?? ['a', 'b']);
  const runs: string[] = [];
  const sent: string[] = [];
  const next = (how: string): Promise<Uint8Array | undefined> => {
    runs.push(how);
    const outcome = outcomes.length > 1 ? outcomes.shift()! : outcomes[0]!;
    if (outcome instanceof FlotillaError) throw outcome;
    return Promise.resolve(outcome);
  };
  const handler: PartitionHandler = {
    service: 'kv',
    ownerOnly: true,
    isWrite: (r) => r.payload[0] !== 0,
    handle: () => next('bytes'),
    handleLocal: () => next('local'),
  };
  const readOnly = options.readOnly ?? (() => false);
  const writeRefusal = (): FlotillaError | undefined => options.refusal;
  const deps = {
    self: 'a',
    config: resolveRoutingConfig({ opTimeoutMs: 1_000, attemptTimeoutMs: 100, backoffInitialMs: 10, backoffMaxMs: 80 }),
    table: () => table,
    addressOf: (id: string) => `${id}:1`,
    request: (to: string, message: Message) => {
      sent.push(to);
      return Promise.resolve({ type: 'ServiceResponse' as const, opId: (message as ServiceRequest).opId, ok: true, payload: new Uint8Array([9]) });
    },
  };
  const router = new RequestRouter({ ...deps, readOnly, writeRefusal });
  router.register(handler);
  const client = new RoutingClient({ ...deps, local: (r) => router.serve(undefined, r), observeTableVersion: () => undefined, timers, stopped: () => false });
  const route = { env: { self: 'a', timers, readOnly, writeRefusal }, table, client, opTimeoutMs: 1_000 };
  const run = (partition: number, call: LocalCall, deadline?: number) => routeLocal(route, handler, 'kv', partition, call, deadline === undefined ? {} : { deadline });
  const bytes = (partition: number, call: LocalCall) => client.call('kv', partition, call.encode());
  return { run, bytes, runs, sent, timers };
}

describe('routeLocal', () => {
  it('hands a call for a partition this node owns to the handler as is: no encode, no request', async () => {
    const n = node([new Uint8Array([1])]);
    const call = callOf(1);
    expect(await n.run(0, call)).toEqual(new Uint8Array([1]));
    expect(call.encodes).toBe(0);
    expect(n.runs).toEqual(['local']);
    expect(n.sent).toEqual([]);
  });

  it('encodes a call for a partition owned elsewhere and sends it to the owner', async () => {
    const n = node([new Uint8Array([1])]);
    const call = callOf(1);
    expect(await n.run(1, call)).toEqual(new Uint8Array([9]));
    expect(call.encodes).toBe(1);
    expect(n.sent).toEqual(['b:1']);
    expect(n.runs).toEqual([]);
  });

  it('leaves a write on the minority side to the byte path: the same FLO_READ_ONLY, reads still run locally', async () => {
    const n = node([new Uint8Array([1])], { readOnly: () => true });
    const viaBytes = await n.bytes(0, callOf(1)).catch((e: unknown) => e);
    const viaLocal = await n.run(0, callOf(1)).catch((e: unknown) => e);
    expect(viaLocal).toMatchObject({ code: 'FLO_READ_ONLY' });
    expect((viaLocal as Error).message).toBe((viaBytes as Error).message);
    expect(n.runs).toEqual([]);
    expect(await n.run(0, callOf(0, false))).toEqual(new Uint8Array([1]));
    expect(n.runs).toEqual(['local']);
  });

  it("leaves a write the host refuses to the byte path, which retries it until the deadline", async () => {
    const n = node([new Uint8Array([1])], { refusal: new FlotillaError('FLO_DETACHED', 'no lease') });
    await expect(n.run(0, callOf(1))).rejects.toMatchObject({ code: 'FLO_TIMEOUT', details: expect.objectContaining({ lastError: 'FLO_DETACHED' }) });
    expect(n.runs).toEqual([]);
  });

  it('answers a failure retrying cannot fix as the byte path does (code and message), without a second run', async () => {
    const bad = new FlotillaError('FLO_INVALID_ARGUMENT', 'key does not belong to partition 0');
    const n = node([bad]);
    const viaBytes = await n.bytes(0, callOf(1)).catch((e: unknown) => e);
    const viaLocal = await n.run(0, callOf(1)).catch((e: unknown) => e);
    expect(viaLocal).toBeInstanceOf(FlotillaError);
    expect(viaLocal).toMatchObject({ code: 'FLO_INVALID_ARGUMENT', message: (viaBytes as Error).message });
    expect(n.runs).toEqual(['bytes', 'local']);
  });

  it('retries a retryable failure through the byte path within the deadline', async () => {
    const n = node([new FlotillaError('FLO_PARTITION_SYNCING', 'not yet'), new Uint8Array([2])]);
    const call = callOf(0, false);
    expect(await n.run(0, call)).toEqual(new Uint8Array([2]));
    expect(n.runs).toEqual(['local', 'bytes']);
    expect(call.encodes).toBe(1);
  });

  it('after a first attempt that may have taken effect, a later refusal is FLO_UNCONFIRMED and the deadline says the outcome is unknown', async () => {
    let minority = false;
    const unconfirmed = new FlotillaError('FLO_UNCONFIRMED', 'backup did not answer');
    const n = node([unconfirmed], { readOnly: () => minority });
    const refused = n.run(0, callOf(1));
    minority = true;
    await expect(refused).rejects.toMatchObject({ code: 'FLO_UNCONFIRMED', details: expect.objectContaining({ outcomeUnknown: true, firstError: 'FLO_UNCONFIRMED', lastError: 'FLO_READ_ONLY' }) });
    minority = false;
    await expect(n.run(0, callOf(1))).rejects.toMatchObject({ code: 'FLO_TIMEOUT', details: expect.objectContaining({ outcomeUnknown: true }) });
  });

  it('takes a handler that throws before returning a promise like one that rejects', async () => {
    const n = node([new Uint8Array([1])]);
    const throwing: PartitionHandler = {
      service: 'kv',
      ownerOnly: true,
      handle: () => Promise.resolve(new Uint8Array([3])),
      handleLocal: () => {
        throw new FlotillaError('FLO_NOT_OWNER', 'moved');
      },
    };
    const route = { env: { self: 'a', timers: n.timers, readOnly: () => false }, table: tableOf(['a', 'b']), client: new RoutingClient({ self: 'a', config: resolveRoutingConfig({}), table: () => tableOf(['a', 'b']), addressOf: () => undefined, request: () => Promise.reject(new Error('no peers')), local: (r) => Promise.resolve({ type: 'ServiceResponse', opId: r.opId, ok: true, payload: new Uint8Array([3]) }), observeTableVersion: () => undefined, timers: n.timers, stopped: () => false }), opTimeoutMs: 1_000 };
    expect(await routeLocal(route, throwing, 'kv', 0, callOf(1))).toEqual(new Uint8Array([3]));
  });

  it('sends a call whose deadline has passed to the byte path, which times it out', async () => {
    const n = node([new Uint8Array([1])]);
    await expect(n.run(0, callOf(1), n.timers.now() - 1)).rejects.toMatchObject({ code: 'FLO_TIMEOUT' });
    expect(n.runs).toEqual([]);
  });
});
