// The client's bookkeeping of a live query's result: enter/update/leave from events,
// older versions (through another node) ignored, the same version from a backup not a
// change, a node's answer dropping what it scanned whole and did not send, local writes
// applied at once against the filter while events of pending keys wait, and the answer
// payload read strictly. And the queries' rounds: synced once every connected node answered,
// a fresh start on lost events, resubscription with cursors after a map change, stop.
import { describe, expect, it } from 'vitest';
import { LiveQueries, readAnswer } from '../../src/client/live-queries.js';
import { LocalStore } from '../../src/client/local-store.js';
import { QueryResult, type QueryChange } from '../../src/client/query-result.js';
import { packBody } from '../../src/protocol/msgpack.js';
import { compileFilter, parseFilter } from '../../src/protocol/query-filter.js';

const v = (millis: number, node = 'n1') => ({ millis, counter: 0, node });
/** Partition: the key's number modulo 10. */
const partitionOf = (key: string): number => Number(key.split('-')[1]) % 10;

function setUp(pending = new Set<string>()) {
  const changes: string[] = [];
  const result = new QueryResult(compileFilter(parseFilter({ op: 'gt', path: 'n', value: 0 })), (k) => pending.has(k), partitionOf, 100, (c: QueryChange) => changes.push(`${c.type}:${c.key}:${c.origin}`));
  return { result, changes, pending };
}

describe('QueryResult', () => {
  it('takes enters, updates and leaves in version order', () => {
    const { result, changes } = setUp();
    result.remote('k-1', { n: 1 }, v(10), 'A');
    result.remote('k-1', { n: 2 }, v(20), 'A');
    result.remote('k-1', { n: 9 }, v(15), 'B'); // older: ignored
    expect(result.entries()).toEqual(new Map([['k-1', { n: 2 }]]));
    result.remote('k-1', undefined, v(30), 'A');
    result.remote('k-1', { n: 3 }, v(25), 'B'); // older than the leave: stays out
    result.remote('k-2', undefined, v(5), 'A'); // a leave of a key not held: silent
    expect(result.size).toBe(0);
    expect(changes).toEqual(['enter:k-1:remote', 'update:k-1:remote', 'leave:k-1:remote']);
  });

  it('an answer drops what its node scanned whole and did not send since its previous answer', () => {
    const { result, changes } = setUp();
    result.remote('k-1', { n: 1 }, v(10), 'A'); // partition 1
    result.remote('k-2', { n: 1 }, v(10), 'B'); // partition 2, from another node
    result.remote('k-12', { n: 1 }, v(10), 'B'); // partition 2, and A sends it too (as a backup, or now its owner)
    result.remote('k-12', { n: 1 }, v(10), 'A');
    result.answered('A', [1, 2]);
    expect([...result.entries().keys()].sort()).toEqual(['k-1', 'k-12']);
    expect(changes.at(-1)).toBe('leave:k-2:remote');
    // The next interval: A must send them again to keep them across its next whole scan.
    result.remote('k-1', { n: 1 }, v(10), 'A');
    result.answered('A', [1, 2]);
    expect([...result.entries().keys()]).toEqual(['k-1']);
    // A partition the answer did not scan whole keeps what it has.
    result.answered('A', [5]);
    expect([...result.entries().keys()]).toEqual(['k-1']);
  });

  it('applies local writes at once against the filter, and events of a pending key wait', () => {
    const { result, changes, pending } = setUp();
    result.local('k-1', { n: 5 });
    result.local('k-2', { n: 0 }); // no match: not in
    result.local('k-3', 'not an object');
    pending.add('k-1');
    result.remote('k-1', undefined, v(10), 'A'); // the owner had not seen the write yet
    result.answered('A', [1]);
    expect(result.entries()).toEqual(new Map([['k-1', { n: 5 }]]));
    result.local('k-1', { n: 0 }); // changed locally to no longer match
    expect(result.size).toBe(0);
    expect(changes).toEqual(['enter:k-1:local', 'leave:k-1:local']);
  });

  it('reads query answers strictly', () => {
    const bytes = (x: unknown) => new Uint8Array(packBody(x));
    expect(readAnswer(bytes([[3, 100, 4, 200], [3, 4, 9]]))).toEqual({ marks: [[3, 100], [4, 200]], scanned: [3, 4, 9] });
    expect(readAnswer(null)).toBeUndefined();
    expect(readAnswer(bytes([3, 100]))).toBeUndefined();
    expect(readAnswer(bytes([[3], []]))).toBeUndefined();
    expect(readAnswer(bytes([[3, -1], []]))).toBeUndefined();
    expect(readAnswer(new Uint8Array([0xc1]))).toBeUndefined();
  });
});

describe('LiveQueries', () => {
  function conn(url: string, sent: [string, unknown][]) {
    return {
      url,
      isReady: () => true,
      subscription: (sub: { id: number; since?: ReadonlyMap<number, number> | null }, on: boolean) => sent.push([url, on ? (sub.since === null ? 'fresh' : [...sub.since!]) : 'stop']),
    };
  }

  it('is synced once every connected node answered; lost events start over from nothing; stop unsubscribes', () => {
    const sent: [string, unknown][] = [];
    const conns = [conn('A', sent), conn('B', sent)];
    let due: (() => void) | undefined;
    const timers = { now: () => 0, at: (_: number, fn: () => void) => ((due = fn), { cancel: () => undefined }), defer: (fn: () => void) => fn() };
    const queries = new LiveQueries({
      timers,
      local: new LocalStore(100, () => false),
      pending: () => false,
      pendingEntries: () => [],
      partitionOf,
      connections: () => conns as never,
      versionsMax: 100,
      queriesMax: 1,
    });
    const q = queries.start('m', { op: 'exists', path: 'n' });
    expect(() => queries.start('m', { op: 'exists', path: 'n' })).toThrow(/1 live queries/);
    expect(sent).toEqual([['A', 'fresh'], ['B', 'fresh']]);
    const id = queries.all('C')[0]!.id;
    queries.onDown('C');
    const answer = (marks: number[], scanned: number[]) => new Uint8Array(packBody([marks, scanned]));
    queries.onSubscribed(id, answer([1, 100], [1]), 'A');
    expect(q.synced).toBe(false);
    queries.onSubscribed(id, answer([2, 200], [2]), 'B');
    expect(q.synced).toBe(true);

    sent.length = 0;
    queries.onEventsDropped(id);
    expect(sent).toEqual([['A', 'fresh'], ['B', 'fresh']]);
    expect(q.synced).toBe(false);
    queries.onSubscribed(id, answer([1, 150], [1]), 'A');
    queries.onDown('B');
    expect(q.synced).toBe(true);

    sent.length = 0;
    queries.mapChanged();
    due!();
    expect(sent).toEqual([['A', [[1, 150]]], ['B', [[1, 150]]]]);
    sent.length = 0;
    q.stop();
    expect(sent).toEqual([['A', 'stop'], ['B', 'stop']]);
    expect(queries.has(id)).toBe(false);
  });
});
