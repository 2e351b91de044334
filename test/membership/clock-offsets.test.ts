import { describe, expect, it } from 'vitest';
import { CLOCK_OFFSET_SAMPLES_MAX, ClockOffsets, estimateOffset } from '../../src/membership/clock-offsets.js';
import { screenClock } from '../../src/membership/admission.js';
import { resolveSwimConfig } from '../../src/membership/config.js';

const config = { clockOffsetWarnMs: 1_000, clockOffsetMaxMs: 60_000, clockSkewWarnIntervalMs: 60_000, membersMax: 3 };

describe('estimateOffset', () => {
  it.each([
    // sentAt, remoteAt, receivedAt -> offset, rtt
    [1_000, 1_005, 1_010, 0, 10],
    [1_000, 11_005, 1_010, 10_000, 10],
    [1_000, -88_995, 1_010, -90_000, 10],
    [1_000, 1_000, 1_000, 0, 0],
    [1_000, 1_003, 1_004, 1, 4],
    // This node's clock stepped back mid-probe: no negative round trip.
    [1_000, 1_000, 990, 0, 0],
  ])('sent %d, remote %d, received %d -> offset %d, rtt %d', (sentAt, remoteAt, receivedAt, offsetMs, rttMs) => {
    expect(estimateOffset(sentAt, remoteAt, receivedAt)).toEqual({ offsetMs, rttMs });
  });
});

describe('screenClock', () => {
  it.each([
    [0, true],
    [60_000, true],
    [-60_000, true],
    [60_001, false],
    [-60_001, false],
    [90_000, false],
  ])('a joiner %d ms off: admitted %s', (offsetMs, ok) => {
    const verdict = screenClock(1_700_000_000_000 + offsetMs, 1_700_000_000_000, 60_000);
    expect(verdict.ok).toBe(ok);
    if (!verdict.ok) {
      expect(verdict.code).toBe('FLO_CLOCK_SKEW');
      expect(verdict.reason).toContain(`${Math.abs(offsetMs)} ms ${offsetMs > 0 ? 'ahead of' : 'behind'} the master's`);
    }
  });
});

describe('ClockOffsets', () => {
  it('keeps the sample with the shortest round trip among the last few', () => {
    const offsets = new ClockOffsets(config);
    // A slow reply whose outbound leg took 400 ms of 402: it looks 199 ms ahead.
    offsets.record('a', 0, 400, 402);
    expect(offsets.offsetOf('a')).toMatchObject({ offsetMs: 199, rttMs: 402 });
    offsets.record('a', 1_000, 1_001, 1_002);
    expect(offsets.offsetOf('a')).toMatchObject({ offsetMs: 0, rttMs: 2 });
    // The quick sample ages out after CLOCK_OFFSET_SAMPLES_MAX newer ones.
    for (let i = 0; i < CLOCK_OFFSET_SAMPLES_MAX; i++) offsets.record('a', 2_000 + i * 1_000, 2_000 + i * 1_000 + 5_010, 2_000 + i * 1_000 + 20);
    expect(offsets.offsetOf('a')).toMatchObject({ offsetMs: 5_000, rttMs: 20 });
  });

  it('warns beyond the threshold once per interval, and says when past the bound', () => {
    const offsets = new ClockOffsets(config);
    expect(offsets.record('a', 0, 1_001, 2)).toBeUndefined();
    const first = offsets.record('b', 0, 5_001, 2);
    expect(first).toMatchObject({ nodeId: 'b', beyondBound: false, offset: { offsetMs: 5_000 } });
    expect(offsets.record('b', 30_000, 35_001, 30_002)).toBeUndefined();
    expect(offsets.record('b', 60_000, 65_001, 60_002)).toBeDefined();
    expect(offsets.record('c', 0, -89_999, 2)).toMatchObject({ beyondBound: true, offset: { offsetMs: -90_000 } });
    expect(offsets.maxAbsOffsetMs()).toBe(90_000);
  });

  it('holds at most membersMax members and forgets on request', () => {
    const offsets = new ClockOffsets(config);
    for (const id of ['a', 'b', 'c', 'd']) offsets.record(id, 0, 1, 2);
    expect(offsets.size).toBe(3);
    expect(offsets.offsetOf('a')).toBeUndefined();
    offsets.forget('d');
    expect(offsets.offsetOf('d')).toBeUndefined();
    expect(offsets.size).toBe(2);
  });

  it('the configuration refuses a warning threshold above the bound', () => {
    expect(() => resolveSwimConfig({ clockOffsetWarnMs: 70_000 })).toThrow(/clockOffsetWarnMs/);
    expect(() => resolveSwimConfig({ clockOffsetMaxMs: 0 })).toThrow(/clockOffsetMaxMs/);
    expect(resolveSwimConfig().clockOffsetMaxMs).toBe(60_000);
  });
});
