// The transport's default codec: the protocol codec's bytes, kept per frozen message
// object (a table publish sends one frozen update to every member), never for a message
// that can still change.
import { describe, expect, it } from 'vitest';
import { decode, encode } from '../../src/protocol/codec.js';
import type { PartitionTableUpdate } from '../../src/protocol/messages.js';
import { createProtocolCodec } from '../../src/transport/index.js';

function update(owner: string): PartitionTableUpdate {
  return {
    type: 'PartitionTableUpdate',
    table: { version: 3, partitionCount: 1, assignments: [{ partition: 0, owner, backups: ['b'], epoch: 2 }] },
    completedMigrations: ['m-1'],
  };
}

describe('createProtocolCodec', () => {
  it('encodes a frozen message once and hands the same bytes to every send', () => {
    const codec = createProtocolCodec();
    const message = Object.freeze(update('a'));
    const first = codec.encode(message);
    expect(codec.encode(message)).toBe(first);
    expect(Array.from(first)).toEqual(Array.from(encode(update('a'))));
    expect(decode(first)).toEqual(update('a'));
  });

  it('encodes an unfrozen message every time, so a later edit shows', () => {
    const codec = createProtocolCodec();
    const message = update('a');
    const first = codec.encode(message);
    (message.table.assignments[0] as { owner: string }).owner = 'c';
    const second = codec.encode(message);
    expect(second).not.toBe(first);
    expect((decode(second) as PartitionTableUpdate).table.assignments[0]!.owner).toBe('c');
  });

  it('keeps bytes per codec: limits differ, so one codec never answers for another', () => {
    const small = createProtocolCodec({ frameBytesMax: 64 });
    const large = createProtocolCodec();
    const message = Object.freeze({ ...update('a'), completedMigrations: Array.from({ length: 20 }, (_, i) => `migration-${i}`) });
    expect(large.encode(message).length).toBeGreaterThan(64);
    expect(() => small.encode(message)).toThrow(expect.objectContaining({ code: 'FLO_ENCODE_OVERSIZED' }));
    expect(() => small.encode(message)).toThrow(expect.objectContaining({ code: 'FLO_ENCODE_OVERSIZED' }));
  });
});
