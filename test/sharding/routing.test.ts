import { describe, expect, it } from 'vitest';
import { FlotillaError } from '../../src/core/errors.js';
import { ClusterPartitionTable } from '../../src/partitions/partition-table.js';
import type { Message, ServiceRequest, ServiceResponse } from '../../src/protocol/messages.js';
import { resolveRoutingConfig } from '../../src/sharding/config.js';
import { RequestRouter, RoutingClient } from '../../src/sharding/routing.js';
import type { PartitionHandler } from '../../src/sharding/service.js';
import { SteppedTimers } from '../fixtures/timers.js';

/** A table of 4 partitions owned by `owners[p]`, at `version`. */
function tableOf(owners: readonly string[], version: number): ClusterPartitionTable {
  return ClusterPartitionTable.fromData({
    version,
    partitionCount: owners.length,
    assignments: owners.map((owner, partition) => ({ partition, owner, backups: [], epoch: 1 })),
  });
}

const ok = (opId: string, payload?: Uint8Array): ServiceResponse => ({ type: 'ServiceResponse', opId, ok: true, ...(payload === undefined ? {} : { payload }) });
const notOwner = (opId: string, owner: string, tableVersion: number): ServiceResponse => ({
  type: 'ServiceResponse',
  opId,
  ok: false,
  errorCode: 'FLO_NOT_OWNER',
  owner,
  ownerAddress: `${owner}:1`,
  tableVersion,
});

/** A client on node `self` whose peers answer through `answer`, under a virtual clock that sleeps advance. */
function client(
  self: string,
  table: () => ClusterPartitionTable,
  answer: (to: string, request: ServiceRequest, timeoutMs: number) => ServiceResponse | Error,
  onSleep: (count: number) => void = () => undefined,
) {
  const timers = new SteppedTimers(1_000, onSleep);
  const sent: string[] = [];
  const slept = timers.waits;
  const observed: number[] = [];
  const c = new RoutingClient({
    self,
    config: resolveRoutingConfig({ opTimeoutMs: 1_000, attemptTimeoutMs: 100, backoffInitialMs: 10, backoffMaxMs: 80 }),
    table,
    addressOf: (id) => `${id}:1`,
    request: (to: string, message: Message, timeoutMs: number) => {
      sent.push(to);
      timers.time += 1;
      const reply = answer(to, message as ServiceRequest, timeoutMs);
      return reply instanceof Error ? Promise.reject(reply) : Promise.resolve(reply);
    },
    local: (request) => {
      sent.push('local');
      return Promise.resolve(ok(request.opId, new Uint8Array([7])));
    },
    observeTableVersion: (v) => observed.push(v),
    timers,
    stopped: () => false,
  });
  return { c, sent, slept, observed };
}

describe('RoutingClient', () => {
  it('goes straight to the owner in its table, or runs locally when it is the owner', async () => {
    const table = tableOf(['a', 'b', 'c', 'a'], 5);
    const t = client('a', () => table, (_to, r) => ok(r.opId, new Uint8Array([1])));
    expect(await t.c.call('kv', 1, new Uint8Array())).toEqual(new Uint8Array([1]));
    expect(await t.c.call('kv', 3, new Uint8Array())).toEqual(new Uint8Array([7]));
    expect(t.sent).toEqual(['b:1', 'local']);
  });

  it('follows a NOT_OWNER hint from a newer table at once, and asks for that table', async () => {
    const table = tableOf(['a', 'b', 'c', 'a'], 5);
    const t = client('a', () => table, (to, r) => (to === 'b:1' ? notOwner(r.opId, 'c', 6) : ok(r.opId)));
    await t.c.call('kv', 1, new Uint8Array());
    expect(t.sent).toEqual(['b:1', 'c:1']);
    expect(t.slept).toEqual([]);
    expect(t.observed).toEqual([6]);
  });

  it('ignores a hint from an older table and retries its own owner with backoff', async () => {
    let table = tableOf(['a', 'b', 'c', 'a'], 5);
    let calls = 0;
    const t = client('a', () => table, (to, r) => {
      calls++;
      if (calls === 3) table = tableOf(['a', 'c', 'c', 'a'], 6);
      return to === 'b:1' ? notOwner(r.opId, 'd', 4) : ok(r.opId);
    });
    await t.c.call('kv', 1, new Uint8Array());
    expect(t.sent).toEqual(['b:1', 'b:1', 'b:1', 'c:1']);
    expect(t.slept).toEqual([10, 20, 40]);
  });

  it.each([
    ['connection failures', new FlotillaError('FLO_CONNECTION_FAILED', 'refused')],
    ['timeouts', new FlotillaError('FLO_TIMEOUT', 'slow')],
  ])('retries %s until the deadline, then fails with FLO_TIMEOUT naming the last error', async (_what, error) => {
    const table = tableOf(['a', 'b', 'c', 'a'], 5);
    const t = client('a', () => table, () => error);
    await expect(t.c.call('kv', 1, new Uint8Array())).rejects.toMatchObject({ code: 'FLO_TIMEOUT', details: expect.objectContaining({ lastError: error.code }) });
    expect(t.slept.every((ms) => ms <= 80)).toBe(true);
    expect(t.slept.reduce((a, b) => a + b, 0)).toBeGreaterThan(900);
  });

  it('before its first table a node retries until the deadline and says it has not joined; once a table arrives the call goes through', async () => {
    let table = new ClusterPartitionTable(4);
    let sleeps = 0;
    const t = client('a', () => table, (_to, r) => ok(r.opId, new Uint8Array([2])), () => {
      if (++sleeps === 3) table = tableOf(['a', 'b', 'c', 'a'], 1);
    });
    expect(await t.c.call('kv', 1, new Uint8Array())).toEqual(new Uint8Array([2]));
    expect(t.sent).toEqual(['b:1']);
    const never = client('a', () => new ClusterPartitionTable(4), () => new Error('unreachable'));
    await expect(never.c.call('kv', 1, new Uint8Array())).rejects.toMatchObject({ code: 'FLO_TIMEOUT', details: expect.objectContaining({ lastError: 'FLO_NOT_JOINED' }) });
    expect(never.sent).toEqual([]);
  });

  it('fails at once on an error retrying cannot fix', async () => {
    const table = tableOf(['a', 'b', 'c', 'a'], 5);
    const t = client('a', () => table, (_to, r) => ({ type: 'ServiceResponse', opId: r.opId, ok: false, errorCode: 'FLO_INVALID_ARGUMENT', errorMessage: 'bad op' }));
    await expect(t.c.call('kv', 1, new Uint8Array())).rejects.toMatchObject({ code: 'FLO_INVALID_ARGUMENT' });
    expect(t.sent).toHaveLength(1);
  });

  it('waits for an owner when its table has none', async () => {
    let table = new ClusterPartitionTable(4);
    const t = client(
      'a',
      () => table,
      (_to, r) => ok(r.opId),
      (sleeps) => {
        if (sleeps === 2) table = tableOf(['a', 'b', 'c', 'a'], 1);
      },
    );
    await t.c.call('kv', 2, new Uint8Array());
    expect(t.slept).toEqual([10, 20]);
    expect(t.sent).toEqual(['c:1']);
  });
});

describe('RequestRouter', () => {
  const echo: PartitionHandler = { service: 'kv', ownerOnly: true, handle: (r) => Promise.resolve(r.payload) };
  const request = (partition: number, forward = false): ServiceRequest => ({ type: 'ServiceRequest', service: 'kv', partition, opId: 'o1', forward, payload: new Uint8Array([3]) });

  function router(self: string, forwards: Message[] = [], readOnly = false): RequestRouter {
    const table = tableOf(['a', 'b', 'c', 'a'], 9);
    const r = new RequestRouter({
      self,
      config: resolveRoutingConfig(),
      table: () => table,
      addressOf: (id) => `${id}:1`,
      request: (_to, message) => {
        forwards.push(message);
        return Promise.resolve(ok('o1', new Uint8Array([4])));
      },
      readOnly: () => readOnly,
    });
    r.register(echo);
    return r;
  }

  it('runs on the owner and answers NOT_OWNER elsewhere', async () => {
    expect(await router('a').serve('x:1', request(0))).toEqual(ok('o1', new Uint8Array([3])));
    expect(await router('b').serve('x:1', request(0))).toEqual({
      type: 'ServiceResponse',
      opId: 'o1',
      ok: false,
      errorCode: 'FLO_NOT_OWNER',
      errorMessage: 'partition 0 is owned by a',
      owner: 'a',
      ownerAddress: 'a:1',
      tableVersion: 9,
    });
    expect(() => router('a').register(echo)).toThrow(expect.objectContaining({ code: 'FLO_CONFIG_INVALID' }));
  });

  it('forwards once wrapped, raises hops on a second forward, and never wraps twice', async () => {
    const forwards: Message[] = [];
    expect(await router('b', forwards).serve('x:1', request(0, true))).toEqual(ok('o1', new Uint8Array([4])));
    const first = forwards[0]!;
    expect(first).toMatchObject({ type: 'OpForward', hops: 1, origin: 'b', partition: 0, opId: 'o1' });
    const again: Message[] = [];
    await router('c', again).serveForward('b:1', first as never);
    expect(again[0]).toMatchObject({ type: 'OpForward', hops: 2 });
    expect((again[0] as { op: Uint8Array }).op).toEqual((first as { op: Uint8Array }).op);
    expect(await router('a').serveForward('c:1', again[0] as never)).toEqual(ok('o1', new Uint8Array([3])));
  });

  it('answers a forwarded write whose connection was lost in flight FLO_UNCONFIRMED; a read, or a loss before sending, stays a connection failure', async () => {
    const table = tableOf(['a', 'b', 'c', 'a'], 9);
    const lost = (inFlight: boolean): RequestRouter => {
      const r = new RequestRouter({
        self: 'b',
        config: resolveRoutingConfig(),
        table: () => table,
        addressOf: (id) => `${id}:1`,
        request: () => Promise.reject(new FlotillaError('FLO_CONNECTION_FAILED', 'reset', inFlight ? { inFlight } : {})),
        readOnly: () => false,
      });
      r.register(echo);
      r.register({ service: 'reads', ownerOnly: true, isWrite: () => false, handle: (req) => Promise.resolve(req.payload) });
      return r;
    };
    expect(await lost(true).serve('x:1', request(0, true))).toMatchObject({ ok: false, errorCode: 'FLO_UNCONFIRMED' });
    expect(await lost(true).serve('x:1', { ...request(0, true), service: 'reads' })).toMatchObject({ ok: false, errorCode: 'FLO_CONNECTION_FAILED' });
    expect(await lost(false).serve('x:1', request(0, true))).toMatchObject({ ok: false, errorCode: 'FLO_CONNECTION_FAILED' });
  });

  it('refuses writes with FLO_READ_ONLY while the node lacks quorum, and lets reads through', async () => {
    const r = router('a', [], true);
    const refused = await r.serve('x:1', request(0));
    expect(refused).toMatchObject({ ok: false, errorCode: 'FLO_READ_ONLY' });
    r.register({ service: 'reads', ownerOnly: true, isWrite: () => false, handle: (req) => Promise.resolve(req.payload) });
    const read = await r.serve('x:1', { ...request(0), service: 'reads' });
    expect(read).toEqual(ok('o1', new Uint8Array([3])));
    expect(await router('a', [], false).serve('x:1', request(0))).toEqual(ok('o1', new Uint8Array([3])));
  });
});

describe('RoutingClient and the read-only verdict', () => {
  it('fails a write refused as read-only at once, without retrying', async () => {
    const table = tableOf(['a', 'b', 'c', 'a'], 5);
    const t = client('a', () => table, (_to, r) => ({ type: 'ServiceResponse', opId: r.opId, ok: false, errorCode: 'FLO_READ_ONLY', tableVersion: 5 }));
    await expect(t.c.call('kv', 1, new Uint8Array())).rejects.toMatchObject({ code: 'FLO_READ_ONLY', retryable: true });
    expect(t.sent).toEqual(['b:1']);
    expect(t.slept).toEqual([]);
  });
});


describe('RoutingClient after an attempt that may have run', () => {
  const failure = (opId: string, errorCode: string): ServiceResponse => ({ type: 'ServiceResponse', opId, ok: false, errorCode, tableVersion: 5 });

  it.each([
    ['FLO_UNCONFIRMED', (r: ServiceRequest): ServiceResponse | Error => failure(r.opId, 'FLO_UNCONFIRMED')],
    ['FLO_TIMEOUT', (): ServiceResponse | Error => new FlotillaError('FLO_TIMEOUT', 'no response')],
  ])('turns a later FLO_READ_ONLY into FLO_UNCONFIRMED when the first attempt answered %s', async (code, firstAnswer) => {
    const table = tableOf(['a', 'b', 'c', 'a'], 5);
    let n = 0;
    const t = client('a', () => table, (_to, r) => (n++ === 0 ? firstAnswer(r) : failure(r.opId, 'FLO_READ_ONLY')));
    await expect(t.c.call('kv', 1, new Uint8Array())).rejects.toMatchObject({ code: 'FLO_UNCONFIRMED', details: { outcomeUnknown: true, firstError: code, lastError: 'FLO_READ_ONLY' } });
    expect(t.sent).toEqual(['b:1', 'b:1']);
  });

  it('counts a connection lost after the request went out as an attempt that may have run, and not one lost before', async () => {
    const table = tableOf(['a', 'b', 'c', 'a'], 5);
    const lostThenReadOnly = (inFlight: boolean) => {
      let n = 0;
      return client('a', () => table, (_to, r) => (n++ === 0 ? new FlotillaError('FLO_CONNECTION_FAILED', 'reset', inFlight ? { inFlight } : {}) : failure(r.opId, 'FLO_READ_ONLY')));
    };
    await expect(lostThenReadOnly(true).c.call('kv', 1, new Uint8Array())).rejects.toMatchObject({ code: 'FLO_UNCONFIRMED', details: { firstError: 'FLO_CONNECTION_FAILED' } });
    await expect(lostThenReadOnly(false).c.call('kv', 1, new Uint8Array())).rejects.toMatchObject({ code: 'FLO_READ_ONLY' });
  });

  it('says outcomeUnknown when the deadline passes after an unconfirmed attempt, and not otherwise', async () => {
    const table = tableOf(['a', 'b', 'c', 'a'], 5);
    let n = 0;
    const t = client('a', () => table, (_to, r) => failure(r.opId, n++ === 0 ? 'FLO_UNCONFIRMED' : 'FLO_NO_OWNER'));
    await expect(t.c.call('kv', 1, new Uint8Array())).rejects.toMatchObject({ code: 'FLO_TIMEOUT', details: { outcomeUnknown: true, lastError: 'FLO_NO_OWNER' } });
    const plain = client('a', () => table, (_to, r) => failure(r.opId, 'FLO_NO_OWNER'));
    const err = (await plain.c.call('kv', 1, new Uint8Array()).catch((e: unknown) => e)) as FlotillaError;
    expect(err.code).toBe('FLO_TIMEOUT');
    expect(err.details).not.toHaveProperty('outcomeUnknown');
  });

  it('names the refusal before a last attempt that the deadline cut short and that timed out, not that timeout', async () => {
    const table = tableOf(['a', 'b', 'c', 'a'], 5);
    const refusedUntilCutShort = client('a', () => table, (_to, r, timeoutMs) => (timeoutMs < 100 ? new FlotillaError('FLO_TIMEOUT', 'no answer in time') : failure(r.opId, 'FLO_DETACHED')));
    await expect(refusedUntilCutShort.c.call('kv', 1, new Uint8Array())).rejects.toMatchObject({ code: 'FLO_TIMEOUT', details: { lastError: 'FLO_DETACHED', outcomeUnknown: true } });
    // A whole attempt that timed out is the latest word on the owner.
    let n = 0;
    const timedOutLast = client('a', () => table, (_to, r) => (n++ < 3 ? failure(r.opId, 'FLO_DETACHED') : new FlotillaError('FLO_TIMEOUT', 'no answer in time')));
    await expect(timedOutLast.c.call('kv', 1, new Uint8Array())).rejects.toMatchObject({ code: 'FLO_TIMEOUT', details: { lastError: 'FLO_TIMEOUT' } });
  });

  it('succeeds when a retry after an unconfirmed attempt is accepted', async () => {
    const table = tableOf(['a', 'b', 'c', 'a'], 5);
    let n = 0;
    const t = client('a', () => table, (_to, r) => (n++ === 0 ? failure(r.opId, 'FLO_UNCONFIRMED') : ok(r.opId, new Uint8Array([9]))));
    expect(await t.c.call('kv', 1, new Uint8Array())).toEqual(new Uint8Array([9]));
  });
});
