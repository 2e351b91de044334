import { describe, expect, it } from 'vitest';
import { decode, encode, encodedSize } from '../../src/protocol/codec.js';
import { encodedUpdateSize } from '../../src/protocol/gossip-packing.js';
import { Harness } from './harness.js';

const names = Array.from({ length: 24 }, (_, i) => `node-${String(i).padStart(2, '0')}`);

function churn(h: Harness): void {
  expect(h.runUntilTrue(() => names.every((o) => h.node(o).members().filter((m) => m.state === 'alive').length === names.length), 30_000)).toBe(true);
  h.act(names[3]!, (m) => m.updateTags({ zone: 'eu-west-1a', role: 'x'.repeat(200) }));
  h.crash(names[5]!);
  h.act(names[7]!, (m, now) => m.leave(now));
  h.runFor(40_000);
}

describe('SwimMachine: on the wire', () => {
  it('every message it sends is valid for the codec, and gossip respects the datagram budget with exact sizes', () => {
    const h = new Harness(71);
    h.cluster(names, { sizeOf: encodedUpdateSize, sizeOfMessage: encodedSize, datagramBudget: 1400 });
    churn(h);
    let udp = 0;
    for (const p of h.sent) {
      const bytes = encode(p.message);
      expect(decode(bytes)).toEqual(p.message);
      if (p.channel === 'udp') {
        udp++;
        expect(bytes.byteLength).toBeLessThanOrEqual(1400);
        if ('updates' in p.message) expect(p.message.updates.length).toBeLessThanOrEqual(20);
      }
    }
    expect(udp).toBeGreaterThan(1000);
  });

  it('the default size estimates never let a message past 4096 encoded bytes', () => {
    const h = new Harness(72);
    h.cluster(names);
    churn(h);
    let biggest = 0;
    for (const p of h.sent) {
      if (p.channel !== 'udp') continue;
      biggest = Math.max(biggest, encodedSize(p.message));
      if ('updates' in p.message) expect(p.message.updates.length).toBeLessThanOrEqual(20);
    }
    expect(biggest).toBeLessThanOrEqual(4096);
  });
});
