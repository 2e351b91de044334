import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Gossip, GossipUpdate } from '../../src/protocol/messages.js';
import { encode, encodedSize } from '../../src/protocol/codec.js';
import { encodedUpdateSize, fillUpdates, UpdateBudget, type UpdateCarrier } from '../../src/protocol/gossip-packing.js';
import { GOSSIP_MESSAGE_BYTES_MAX, GOSSIP_UPDATES_MAX, UDP_DATAGRAM_BUDGET_BYTES } from '../../src/protocol/limits.js';
import { anyUpdate, messageArbitraries } from './arbitraries.js';
import { expectCode } from './helpers.js';
import { alive, dead, suspect } from './samples.js';

const carrier: fc.Arbitrary<UpdateCarrier> = fc.oneof(
  messageArbitraries.Ping,
  messageArbitraries.PingReq,
  messageArbitraries.Ack,
  messageArbitraries.Gossip,
);

describe('encodedUpdateSize', () => {
  it('is exactly what one update adds to a message', () => {
    fc.assert(
      fc.property(anyUpdate, (update) => {
        const empty: Gossip = { type: 'Gossip', from: 'n1', updates: [] };
        expect(encodedSize({ ...empty, updates: [update] }) - encodedSize(empty)).toBe(encodedUpdateSize(update));
      }),
      { seed: 42, numRuns: 500 },
    );
  });

  it('refuses an invalid update', () => {
    expectCode(() => encodedUpdateSize({ ...suspect, node: '' }), 'FLO_INVALID_ARGUMENT');
    expectCode(() => encodedUpdateSize({ type: 'Nack' } as unknown as GossipUpdate), 'FLO_INVALID_ARGUMENT');
  });
});

describe('UpdateBudget', () => {
  it('accounts for the array header growing at the 16th update', () => {
    const base: Gossip = { type: 'Gossip', from: 'n1', updates: [] };
    const budget = UpdateBudget.forMessage(base, GOSSIP_MESSAGE_BYTES_MAX);
    const updates: GossipUpdate[] = [];
    for (let i = 0; i < GOSSIP_UPDATES_MAX; i++) {
      expect(budget.tryAdd(encodedUpdateSize(dead))).toBe(true);
      updates.push(dead);
      expect(budget.usedBytes).toBe(encode({ ...base, updates }).byteLength);
    }
    expect(budget.full).toBe(true);
    expect(budget.tryAdd(1)).toBe(false);
    expect(budget.count).toBe(GOSSIP_UPDATES_MAX);
  });

  it('never exceeds the gossip cap, whatever budget it is given', () => {
    const budget = new UpdateBudget(10, 1_000_000);
    expect(budget.tryAdd(GOSSIP_MESSAGE_BYTES_MAX)).toBe(false);
    expect(budget.tryAdd(GOSSIP_MESSAGE_BYTES_MAX - 10)).toBe(true);
    expect(budget.usedBytes).toBe(GOSSIP_MESSAGE_BYTES_MAX);
    expect(budget.full).toBe(true);
  });

  it('checks its arguments', () => {
    expectCode(() => new UpdateBudget(0, 100), 'FLO_INVALID_ARGUMENT');
    expectCode(() => new UpdateBudget(10, 1.5), 'FLO_INVALID_ARGUMENT');
  });
});

describe('fillUpdates', () => {
  it('fills to the budget, never past it, and leaves out only what cannot fit', () => {
    fc.assert(
      fc.property(
        carrier,
        fc.array(anyUpdate, { maxLength: 40 }),
        fc.integer({ min: 64, max: GOSSIP_MESSAGE_BYTES_MAX + 500 }),
        (message, candidates, budgetBytes) => {
          const { message: filled, taken } = fillUpdates(message, candidates, budgetBytes);
          const limit = Math.min(budgetBytes, GOSSIP_MESSAGE_BYTES_MAX);
          expect(filled.updates).toEqual(taken.map((i) => candidates[i]));
          expect(filled.updates.length).toBeLessThanOrEqual(GOSSIP_UPDATES_MAX);
          const size = encodedSize({ ...message, updates: [] });
          if (size > limit) {
            expect(filled.updates).toHaveLength(0);
            return;
          }
          const bytes = encode(filled);
          expect(bytes.byteLength).toBeLessThanOrEqual(limit);
          if (filled.updates.length < GOSSIP_UPDATES_MAX) {
            candidates.forEach((c, i) => {
              if (!taken.includes(i)) expect(encodedSize({ ...filled, updates: [...filled.updates, c] })).toBeGreaterThan(limit);
            });
          }
        },
      ),
      { seed: 42, numRuns: 300 },
    );
  });

  it('fits a typical probe in the UDP datagram budget', () => {
    const ping = { type: 'Ping' as const, seqNo: 9, from: 'n1', target: 'n2', updates: [] };
    const many = Array.from({ length: 30 }, (_, i) => (i % 3 === 0 ? alive : i % 3 === 1 ? suspect : dead));
    const { message, taken } = fillUpdates(ping, many, UDP_DATAGRAM_BUDGET_BYTES);
    expect(taken.length).toBe(GOSSIP_UPDATES_MAX);
    expect(encode(message, { datagramBytesMax: UDP_DATAGRAM_BUDGET_BYTES }).byteLength).toBeLessThanOrEqual(UDP_DATAGRAM_BUDGET_BYTES);
  });
});
