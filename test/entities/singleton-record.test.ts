// The singleton record's pure transitions (takeover, step-down, counter, resets) and its
// stored encoding, including refusing bytes that are not a record.
import { describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../src/core/errors.js';
import { encodeValue } from '../../src/entities/state-codec.js';
import { defineSingleton } from '../../src/entities/singleton-definition.js';
import {
  decodeRecord,
  EMPTY_RECORD,
  encodeRecord,
  LEADERSHIP_HISTORY_MAX,
  withCounterAdvanced,
  withCounterReset,
  withHistoryCleared,
  withLeaderAdded,
  withLeaderClosed,
} from '../../src/entities/singleton-record.js';

describe('singleton record', () => {
  it('a takeover closes every open leadership (a crashed leader left its own open) and opens one', () => {
    const one = withLeaderAdded(EMPTY_RECORD, 'a', 3, 1_000);
    const two = withLeaderAdded(one, 'b', 4, 2_000);
    expect(two.history).toEqual([
      { runner: 'a', epoch: 3, becameLeaderAt: 1_000, lostLeadershipAt: 2_000 },
      { runner: 'b', epoch: 4, becameLeaderAt: 2_000, lostLeadershipAt: null },
    ]);
    const closed = withLeaderClosed(two, 'b', 4, 2_500);
    expect(closed.history[1]!.lostLeadershipAt).toBe(2_500);
    // Closing another leadership than the open one changes nothing.
    expect(withLeaderClosed(two, 'b', 5, 3_000)).toEqual(two);
  });

  it('keeps at most LEADERSHIP_HISTORY_MAX leaderships, dropping the oldest', () => {
    let record = EMPTY_RECORD;
    for (let i = 0; i < LEADERSHIP_HISTORY_MAX + 5; i++) record = withLeaderAdded(record, `n${i}`, i + 1, i * 10);
    expect(record.history).toHaveLength(LEADERSHIP_HISTORY_MAX);
    expect(record.history[0]!.runner).toBe('n5');
  });

  it('advances, resets, and clears history except the running leadership', () => {
    const led = withLeaderAdded(withLeaderAdded(EMPTY_RECORD, 'a', 1, 10), 'b', 2, 20);
    const advanced = withCounterAdvanced(withCounterAdvanced(led));
    expect(advanced.counter).toBe(2);
    expect(withCounterReset(advanced).counter).toBe(0);
    expect(withHistoryCleared(advanced, 'b', 2).history.map((h) => h.runner)).toEqual(['b']);
    expect(withHistoryCleared(advanced, 'c', 3).history).toEqual([]);
    expect(() => withCounterAdvanced({ counter: Number.MAX_SAFE_INTEGER, history: [] })).toThrow(/safe integer/);
  });

  it('round-trips through its stored encoding and refuses anything else with FLO_STORAGE', () => {
    const record = withCounterAdvanced(withLeaderClosed(withLeaderAdded(EMPTY_RECORD, 'a', 1, 10), 'a', 1, 20));
    expect(decodeRecord(encodeRecord(record))).toEqual(record);
    for (const bad of [new Uint8Array([0xc1]), encodeValue({ c: -1, h: [] }), encodeValue({ c: 1, h: [['a', 1, 2]] }), encodeValue([1, 2]), encodeValue({ c: 1, h: [[1, 1, 1, null]] })]) {
      let error: unknown;
      try {
        decodeRecord(bad);
      } catch (e) {
        error = e;
      }
      expect(isFlotillaError(error, 'FLO_STORAGE')).toBe(true);
    }
  });

  it('defineSingleton checks its name and options', () => {
    expect(defineSingleton('clock-1', () => undefined).handoverWaitMs).toBe(5_000);
    expect(() => defineSingleton('', () => undefined)).toThrow(/invalid singleton name/);
    expect(() => defineSingleton('_x', () => undefined)).toThrow(/invalid singleton name/);
    expect(() => defineSingleton('x', () => undefined, { handoverWaitMs: -1 })).toThrow(/handoverWaitMs/);
  });
});
