// The map service's change events for what a split-brain merge stores: its owner reports
// each stored change to `onChange` (as it does an acknowledged write), with the mark at
// the merge's stamp; a backup taking the same merge reports nothing; what the merge kept out (the
// side's own newer value) is not reported.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { encodeRecords, encodeValue, type KvChange } from '../../src/grid/kv-codec.js';
import { KvService } from '../../src/grid/kv-service.js';
import { ClusterPartitionTable } from '../../src/partitions/partition-table.js';
import type { ShardContext } from '../../src/sharding/service.js';
import { HeldTimers } from '../fixtures/timers.js';

const PARTITIONS = 4;

function started(self: string): { service: KvService; events: [string, number][] } {
  const table = ClusterPartitionTable.fromData({
    version: 3,
    partitionCount: PARTITIONS,
    assignments: Array.from({ length: PARTITIONS }, (_, partition) => ({ partition, owner: 'a', backups: ['b'], epoch: 2 })),
  });
  const unused = (): never => {
    throw new Error('not used here');
  };
  const ctx: ShardContext = {
    self,
    logger: pino({ level: 'silent' }),
    timers: new HeldTimers(10_000),
    partitionCount: PARTITIONS,
    table: () => table,
    roleOf: (p) => (table.owner(p) === self ? 'owner' : table.backups(p).includes(self) ? 'backup' : 'none'),
    addressOf: () => undefined,
    request: unused,
    route: unused,
    flushSealed: () => Promise.resolve(),
    observeTableVersion: () => undefined,
    readOnly: () => false,
    writeRefusal: () => undefined,
    movingOwnerOut: () => false,
    awaitingData: () => false,
    stopped: () => false,
  };
  const service = new KvService();
  service.start(ctx);
  const events: [string, number][] = [];
  service.onChange((change: KvChange, mark) => void events.push([change.key, mark.millis]));
  return { service, events };
}

describe('a split-brain merge on the map service', () => {
  const chunk = encodeRecords([
    { map: 'default', key: 'theirs', slot: { value: encodeValue('t'), version: { millis: 2_000, counter: 0, node: 'z' } } },
    { map: 'default', key: 'mine', slot: { value: encodeValue('old'), version: { millis: 1_000, counter: 0, node: 'z' } } },
  ]);

  it('is reported by the owner, above every mark it gave before; what it kept out is not', () => {
    const { service, events } = started('a');
    service.participant.merge(0, encodeRecords([{ map: 'default', key: 'mine', slot: { value: encodeValue('new'), version: { millis: 5_000, counter: 0, node: 'y' } } }]));
    // The clock reads 10,000 (it followed versions up to 5,000 only): the merge's stamp, where the mark now stands.
    expect(events).toEqual([['mine', 10_000]]);
    service.participant.merge(0, chunk);
    // 'mine' of the chunk is older than the one held: kept out. The clock moved on past the
    // first stamp, so the second merge is stamped in the next millisecond.
    expect(events.slice(1)).toEqual([['theirs', 10_001]]);
  });

  it('is not reported by a backup', () => {
    const { service, events } = started('b');
    service.participant.merge(0, chunk);
    expect(events).toEqual([]);
  });
});
