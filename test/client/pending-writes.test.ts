import { describe, expect, it } from 'vitest';
import { FlotillaError } from '../../src/core/errors.js';
import { PendingWrites, WRITES_IN_FLIGHT_MAX } from '../../src/client/pending-writes.js';
import type { PendingWrite } from '../../src/client/storage.js';
import { SeededRandom } from '../../src/core/random.js';

const bytes = (n: number): Uint8Array => Uint8Array.of(n & 0xff);
/** A plain check: the random walk below makes hundreds of thousands, too many for `expect`. */
function check(ok: boolean, message: string): void {
  if (!ok) throw new Error(message);
}

describe('the client\'s pending writes', () => {
  it('sends one write per key at a time, oldest first, and keys side by side', () => {
    const q = new PendingWrites(100);
    const a1 = q.add('m', 'a', bytes(1)).write;
    const a2 = q.add('m', 'a', bytes(2)).write;
    const b1 = q.add('m', 'b', bytes(3)).write;
    expect(q.takeSendable()).toEqual([a1, b1]);
    expect(q.takeSendable()).toEqual([]);
    q.finish(a1, null);
    expect(q.takeSendable()).toEqual([a2]);
    expect(q.has('m', 'a')).toBe(true);
    q.finish(a2, null);
    expect(q.has('m', 'a')).toBe(false);
    expect(q.size()).toBe(1);
  });

  it('puts a released write back in line ahead of the newer writes to its key', () => {
    const q = new PendingWrites(100);
    const a1 = q.add('m', 'a', bytes(1)).write;
    const a2 = q.add('m', 'a', bytes(2)).write;
    expect(q.takeSendable()).toEqual([a1]);
    q.release(a1);
    expect(q.takeSendable()).toEqual([a1]);
    q.finish(a1, null);
    expect(q.takeSendable()).toEqual([a2]);
  });

  it('tells each caller its answer, refuses past its bound, and continues the sequence after a restore', async () => {
    const q = new PendingWrites(2);
    const first = q.add('m', 'a', bytes(1));
    const second = q.add('m', 'b', bytes(2));
    expect(() => q.add('m', 'c', bytes(3))).toThrow(FlotillaError);
    q.takeSendable();
    q.finish(first.write, bytes(9));
    q.finish(second.write, null, new FlotillaError('FLO_STATE_TOO_LARGE', 'no'));
    await expect(first.acked).resolves.toEqual(bytes(9));
    await expect(second.acked).rejects.toMatchObject({ code: 'FLO_STATE_TOO_LARGE' });

    const restored = new PendingWrites(100);
    restored.restore([
      { seq: 7, map: 'm', key: 'a', value: bytes(7) },
      { seq: 3, map: 'm', key: 'a', value: bytes(3) },
    ]);
    expect(restored.takeSendable().map((w) => w.seq)).toEqual([3]);
    expect(restored.add('m', 'z', null).write.seq).toBe(8);
  });

  it('keeps its rules under random adds, acknowledgements, retries and refusals (seeded)', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const random = new SeededRandom(seed);
      const q = new PendingWrites(5_000);
      /** Pending writes per key in the order they were made: the model. */
      const model = new Map<string, PendingWrite[]>();
      const inFlight = new Set<PendingWrite>();
      const keysInFlight = new Set<string>();
      for (let step = 0; step < 3_000; step++) {
        const roll = random.next();
        if (roll < 0.45) {
          const key = `k${random.int(60)}`;
          const { write, acked } = q.add('m', key, bytes(step));
          acked.catch(() => undefined);
          model.set(key, [...(model.get(key) ?? []), write]);
        } else if (roll < 0.6) {
          for (const w of q.takeSendable()) {
            check(!inFlight.has(w), `seed ${seed}: sent twice`);
            // Only the oldest pending write of its key, and none while another of the key is out.
            check(model.get(w.key)![0] === w, `seed ${seed}: not the oldest of ${w.key}`);
            check(!keysInFlight.has(w.key), `seed ${seed}: two in flight for ${w.key}`);
            inFlight.add(w);
            keysInFlight.add(w.key);
          }
          check(inFlight.size <= WRITES_IN_FLIGHT_MAX, `seed ${seed}: over the in-flight bound`);
          // Every key with a pending write has one in flight now (the bound is far away here).
          for (const [key, writes] of model) if (writes.length > 0) check(keysInFlight.has(key), `seed ${seed}: ${key} left idle`);
        } else if (inFlight.size > 0) {
          const list = [...inFlight];
          const w = list[random.int(list.length)]!;
          inFlight.delete(w);
          keysInFlight.delete(w.key);
          if (roll < 0.8) q.release(w);
          else {
            q.finish(w, null, roll < 0.95 ? undefined : new FlotillaError('FLO_AUTH_FAILED', 'refused'));
            const rest = model.get(w.key)!.filter((o) => o !== w);
            if (rest.length === 0) model.delete(w.key);
            else model.set(w.key, rest);
          }
        }
        check(q.size() === [...model.values()].reduce((n, ws) => n + ws.length, 0), `seed ${seed}: size ${q.size()} at step ${step}`);
      }
      for (const key of model.keys()) expect(q.has('m', key)).toBe(true);
    }
  });
});
