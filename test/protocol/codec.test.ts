import { describe, expect, it } from 'vitest';
import type { Message, MessageType } from '../../src/protocol/messages.js';
import { decode, encode, encodedSize, frameBytesMaxFor } from '../../src/protocol/codec.js';
import {
  GOSSIP_MESSAGE_BYTES_MAX,
  NODE_ID_BYTES_MAX,
  PAYLOAD_BYTES_MAX,
  TCP_FRAME_BYTES_MAX,
  UDP_DATAGRAM_BUDGET_BYTES,
} from '../../src/protocol/limits.js';
import { MESSAGE_TYPE_CODES, WIRE_MAGIC } from '../../src/protocol/type-codes.js';
import { allSamples, alive, samples, summary, view } from './samples.js';
import { comparable, expectCode } from './helpers.js';

const messageTypes = Object.keys(MESSAGE_TYPE_CODES) as MessageType[];

describe('samples', () => {
  it('cover every message type with at least one sample', () => {
    expect(messageTypes).toHaveLength(32);
    expect(Object.keys(samples).sort()).toEqual([...messageTypes].sort());
    for (const type of messageTypes) {
      expect(samples[type].length, type).toBeGreaterThan(0);
      for (const m of samples[type]) expect(m.type).toBe(type);
    }
  });
});

describe('encode/decode round trip', () => {
  it.each(allSamples.map((m, i) => [`${i} ${m.type}`, m] as const))('%s', (_name, message) => {
    const bytes = encode(message);
    expect(Object.getPrototypeOf(bytes)).toBe(Uint8Array.prototype);
    expect(bytes[0]).toBe(WIRE_MAGIC);
    expect(bytes[1]).toBe(MESSAGE_TYPE_CODES[message.type]);
    expect(bytes.byteLength).toBe(encodedSize(message));
    const decoded = decode(bytes);
    expect(comparable(decoded)).toEqual(comparable(message));
    expect(comparable(encode(decoded))).toEqual(comparable(bytes));
  });

  it('carries a partition that lost every replica (no owner, no backups), as the master publishes it', () => {
    const table = { version: 7, partitionCount: 2, assignments: [{ partition: 0, owner: 'a', backups: ['b'], epoch: 2 }, { partition: 1, owner: '', backups: [], epoch: 3 }] };
    const message: Message = { ...samples.PartitionTableUpdate[0]!, table };
    const decoded = decode(encode(message)) as Message & { type: 'PartitionTableUpdate' };
    expect(decoded.table).toEqual(table);
    expect(encodedSize(message)).toBe(encode(message).byteLength);
  });

  it('leaves absent optional fields absent, not undefined', () => {
    const response = decode(encode(samples.JoinResponse[0]!)) as Message & { type: 'JoinResponse' };
    expect(Object.keys(response).sort()).toEqual(['accepted', 'type', 'view']);
    expect(Object.keys(response.view!.members[0]!)).not.toContain('clientAddress');
    expect(response.view!.members[1]!.clientAddress).toBe('ws://10.0.0.2:8080');
    const leave = decode(encode(samples.LeaveRequest[0]!));
    expect('reason' in leave).toBe(false);
  });

  it('builds tags on a null prototype and copies byte fields out of the frame', () => {
    const bytes = encode(samples.MigrateData[0]!);
    const decoded = decode(bytes) as Message & { type: 'MigrateData' };
    expect(Object.getPrototypeOf(decoded.payload)).toBe(Uint8Array.prototype);
    expect(decoded.payload.buffer).not.toBe(bytes.buffer);
    bytes.fill(0);
    expect(comparable(decoded.payload)).toEqual(comparable(samples.MigrateData[0]!.payload));
    const a = decode(encode(alive)) as Message & { type: 'Alive' };
    expect(Object.getPrototypeOf(a.tags)).toBeNull();
  });

  it('keeps the type code table stable', () => {
    expect(MESSAGE_TYPE_CODES).toEqual({
      Ping: 1, PingReq: 2, Ack: 3, Nack: 4, Gossip: 5, PushPull: 6, Suspect: 7, Alive: 8, Dead: 9,
      JoinRequest: 16, JoinResponse: 17, MembersUpdate: 18, LeaveRequest: 19, Heartbeat: 20,
      HeartbeatComplaint: 21, ExplicitSuspicion: 22, PartitionTableUpdate: 32, FetchPartitionTable: 33, MergedTable: 34,
      MigrateStart: 48, MigrateData: 49, MigrateReady: 50, MigrateFinalize: 51, MigrateCancel: 52,
      MigrateQuery: 53, MigrateStatus: 54,
      SplitBrainProbe: 64, SplitBrainProbeResponse: 65, MergeRequest: 66, OpForward: 80,
      ServiceRequest: 96, ServiceResponse: 97,
    });
    expect(new Set(Object.values(MESSAGE_TYPE_CODES)).size).toBe(32);
  });

  it('matches golden bytes for small messages', () => {
    expect([...encode({ type: 'Nack', seqNo: 1, from: 'a' })]).toEqual([0xf1, 4, 0x92, 0x01, 0xa1, 0x61]);
    expect([...encode({ type: 'MigrateQuery', migrationId: 'm', partition: 1, ready: true })]).toEqual([0xf1, 53, 0x93, 0xa1, 0x6d, 0x01, 0xc3]);
    expect([...encode({ type: 'MigrateStatus', migrationId: 'm', partition: 1, verdict: 'unknown', tableVersion: 7 })]).toEqual([
      0xf1, 54, 0x94, 0xa1, 0x6d, 0x01, 0x02, 0x07,
    ]);
    expect([...encode({ type: 'Ping', seqNo: 300, from: 'a', target: 'b', updates: [{ type: 'Dead', node: 'c', incarnation: 2, from: 'a', left: true }] })]).toEqual([
      0xf1, 1, 0x94, 0xcd, 0x01, 0x2c, 0xa1, 0x61, 0xa1, 0x62, 0x91, 0x95, 9, 0xa1, 0x63, 2, 0xa1, 0x61, 0xc3,
    ]);
    expect([...encode({ type: 'Alive', node: 'n', incarnation: 0, address: 'h:1', tags: { z: 'a' } })]).toEqual([
      0xf1, 8, 0x94, 0xa1, 0x6e, 0, 0xa3, 0x68, 0x3a, 0x31, 0x81, 0xa1, 0x7a, 0xa1, 0x61,
    ]);
  });
});

describe('limits', () => {
  it('caps datagram types at the gossip limit and others at the TCP frame limit', () => {
    expect(frameBytesMaxFor('Ping')).toBe(GOSSIP_MESSAGE_BYTES_MAX);
    expect(frameBytesMaxFor('PushPull')).toBe(TCP_FRAME_BYTES_MAX);
    expect(frameBytesMaxFor('Ping', { frameBytesMax: UDP_DATAGRAM_BUDGET_BYTES })).toBe(UDP_DATAGRAM_BUDGET_BYTES);
    expect(frameBytesMaxFor('Ping', { datagramBytesMax: 8192 })).toBe(8192);
    expect(frameBytesMaxFor('MigrateData', { datagramBytesMax: 100 })).toBe(TCP_FRAME_BYTES_MAX);
    expectCode(() => frameBytesMaxFor('Ping', { frameBytesMax: 0 }), 'FLO_INVALID_ARGUMENT');
    expectCode(() => frameBytesMaxFor('Ping', { datagramBytesMax: 1.5 }), 'FLO_INVALID_ARGUMENT');
  });

  it('refuses to encode past the limit, and the decoder refuses the same frame', () => {
    const big = { type: 'MigrateData', migrationId: 'm', partition: 1, service: 'grid', kind: 'chunk', seq: 1, payload: new Uint8Array(1000), last: true } as const;
    expectCode(() => encode(big, { frameBytesMax: 999 }), 'FLO_ENCODE_OVERSIZED');
    const bytes = encode(big);
    expectCode(() => decode(bytes, { frameBytesMax: 999 }), 'FLO_DECODE_OVERSIZED');
    const fat = { ...alive, tags: Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`key${i}`, 'v'.repeat(55)])) };
    const gossip: Message = { type: 'Gossip', from: 'n1', updates: Array.from({ length: 10 }, () => fat) };
    expect(encodedSize(gossip)).toBeGreaterThan(GOSSIP_MESSAGE_BYTES_MAX);
    expectCode(() => encode(gossip), 'FLO_ENCODE_OVERSIZED');
    const wide = encode(gossip, { datagramBytesMax: 16_384 });
    expectCode(() => decode(wide), 'FLO_DECODE_OVERSIZED');
    expect(decode(wide, { datagramBytesMax: 16_384 })).toEqual(gossip);
  });

  it('checks size before parsing: oversized garbage is OVERSIZED, not MALFORMED', () => {
    const garbage = new Uint8Array(GOSSIP_MESSAGE_BYTES_MAX + 1).fill(0xc1);
    garbage[0] = WIRE_MAGIC;
    garbage[1] = MESSAGE_TYPE_CODES.Ping;
    expectCode(() => decode(garbage), 'FLO_DECODE_OVERSIZED');
    expectCode(() => decode(new Uint8Array(100).fill(0xff), { frameBytesMax: 99 }), 'FLO_DECODE_OVERSIZED');
  });
});

describe('encode validation', () => {
  const ping = samples.Ping[1]!;
  const cases: [string, unknown][] = [
    ['not an object', 'Ping'],
    ['null', null],
    ['unknown type', { type: 'Pong' }],
    ['prototype key as type', { type: 'constructor' }],
    ['missing field', { type: 'Nack', seqNo: 1 }],
    ['negative seqNo', { ...ping, seqNo: -1 }],
    ['fractional seqNo', { ...ping, seqNo: 1.5 }],
    ['unsafe seqNo', { ...ping, seqNo: 2 ** 53 }],
    ['empty node id', { ...ping, from: '' }],
    ['long node id', { ...ping, from: 'x'.repeat(NODE_ID_BYTES_MAX + 1) }],
    ['lone surrogate', { ...ping, from: 'a\ud800' }],
    ['updates not an array', { ...ping, updates: 'none' }],
    ['21 updates', { ...ping, updates: Array.from({ length: 21 }, () => ({ type: 'Suspect', node: 'a', incarnation: 1, from: 'b' })) }],
    ['update of a wrong type', { ...ping, updates: [{ type: 'Ping', seqNo: 1, from: 'a', target: 'b', updates: [] }] }],
    ['incarnation over uint32', { ...alive, incarnation: 2 ** 32 }],
    ['tags as string', { ...alive, tags: 'zone=a' }],
    ['tags as array', { ...alive, tags: ['a'] }],
    ['tag value not a string', { ...alive, tags: { zone: 1 } }],
    ['empty tag key', { ...alive, tags: { '': 'x' } }],
    ['__proto__ tag key', { ...alive, tags: JSON.parse('{"__proto__": "x"}') as unknown }],
    ['too many tags', { ...alive, tags: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, ''])) }],
    ['too many tag bytes', { ...alive, tags: { a: 'x'.repeat(512) } }],
    ['bad swim state', { type: 'PushPull', from: 'a', join: false, reply: false, clusterId: 'c', states: [{ nodeId: 'a', address: 'h:1', incarnation: 1, state: 'zombie', tags: {} }] }],
    ['partition over uint32', { ...samples.MigrateReady[0]!, partition: 2 ** 32 }],
    ['payload not bytes', { ...samples.MigrateData[1]!, payload: [1, 2] }],
    ['bad role', { ...samples.MigrateStart[0]!, role: 'leader' }],
    ['hops 0', { ...samples.OpForward[0]!, hops: 0 }],
    ['hops over the limit', { ...samples.OpForward[0]!, hops: 4 }],
    ['accepted without view', { type: 'JoinResponse', accepted: true }],
    ['rejected without code', { type: 'JoinResponse', accepted: false }],
    ['rejected with a view', { type: 'JoinResponse', accepted: false, rejectCode: 'X', view }],
    ['assignment out of range', { ...samples.PartitionTableUpdate[0]!, table: { version: 1, partitionCount: 2, assignments: [{ partition: 2, owner: 'a', backups: [], epoch: 0 }] } }],
    ['duplicate assignment', { ...samples.PartitionTableUpdate[0]!, table: { version: 1, partitionCount: 2, assignments: [{ partition: 1, owner: 'a', backups: [], epoch: 0 }, { partition: 1, owner: 'b', backups: [], epoch: 0 }] } }],
    ['zero partitions', { ...samples.PartitionTableUpdate[0]!, table: { version: 1, partitionCount: 0, assignments: [] } }],
    ['unowned partition with a backup', { ...samples.PartitionTableUpdate[0]!, table: { version: 1, partitionCount: 1, assignments: [{ partition: 0, owner: '', backups: ['b'], epoch: 3 }] } }],
    ['summary missing', { type: 'SplitBrainProbe', from: 'a' }],
    ['empty seed', { type: 'MergeRequest', from: 'a', target: summary, seeds: [''] }],
    ['null optional is fine but a number is not', { type: 'LeaveRequest', nodeId: 'a', reason: 5 }],
    ['service response failing without a code', { type: 'ServiceResponse', opId: 'o', ok: false }],
    ['service response ok with a code', { type: 'ServiceResponse', opId: 'o', ok: true, errorCode: 'FLO_NOT_OWNER' }],
    ['service request without a service', { ...samples.ServiceRequest[0]!, service: '' }],
    ['service request forward not a boolean', { ...samples.ServiceRequest[0]!, forward: 1 }],
  ];
  it.each(cases)('%s -> FLO_INVALID_ARGUMENT', (_name, message) => {
    const error = expectCode(() => encode(message as Message), 'FLO_INVALID_ARGUMENT');
    expectCode(() => encodedSize(message as Message), 'FLO_INVALID_ARGUMENT');
    expect(error.message.length).toBeGreaterThan(10);
  });

  it('names the offending field', () => {
    const error = expectCode(() => encode({ ...ping, updates: [suspectWith({ incarnation: -2 })] }), 'FLO_INVALID_ARGUMENT');
    expect(error.message).toContain('Ping.updates[0].incarnation');
  });

  it('refuses a payload over PAYLOAD_BYTES_MAX even when the frame limit allows it', () => {
    const m = { ...samples.MigrateData[1]!, payload: new Uint8Array(PAYLOAD_BYTES_MAX + 1) };
    expectCode(() => encode(m), 'FLO_INVALID_ARGUMENT');
  });
});

function suspectWith(fields: Record<string, unknown>): Message & { type: 'Suspect' } {
  return { type: 'Suspect', node: 'a', incarnation: 1, from: 'b', ...fields } as Message & { type: 'Suspect' };
}
