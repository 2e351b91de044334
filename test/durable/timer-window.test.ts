// The in-memory window of nearest timers: bounded, ordered, and honest about what it does
// not hold (a timer beyond the horizon stays in storage; an empty window with a horizon
// asks to be reloaded).
import { describe, expect, it } from 'vitest';
import { TimerWindow } from '../../src/durable/timer-window.js';
import type { DurableTimer } from '../../src/storage/durable.js';

function t(id: string, dueAt: number): DurableTimer {
  return { id, partition: 0, dueAt, kind: 'k', payload: new Uint8Array() };
}

describe('TimerWindow', () => {
  it('needs a load first; a partial load sets a horizon beyond which adds stay in storage', () => {
    const w = new TimerWindow(3);
    expect(w.needsLoad()).toBe(true);
    w.add(t('early', 1));
    expect(w.size()).toBe(0);
    w.load([t('b', 20), t('a', 10), t('c', 30)], 3);
    expect(w.needsLoad()).toBe(false);
    expect(w.nextDue()).toBe(10);
    w.add(t('late', 40));
    expect(w.size()).toBe(3);
    w.add(t('mid', 15));
    expect(w.due(100, 10).map((x) => x.id)).toEqual(['a', 'mid', 'b']);
  });

  it('keeps at most max entries, lowering the horizon when one is pushed out', () => {
    const w = new TimerWindow(2);
    w.load([], 2);
    w.add(t('x', 30));
    w.add(t('y', 20));
    w.add(t('z', 10));
    expect(w.size()).toBe(2);
    expect(w.due(100, 10).map((x) => x.id)).toEqual(['z', 'y']);
    w.add(t('w', 25));
    expect(w.size()).toBe(2);
    expect(w.remove('z')).toBe(true);
    expect(w.remove('y')).toBe(true);
    expect(w.needsLoad()).toBe(true);
  });

  it('a complete load (fewer rows than the limit) has no horizon: an empty window needs no load', () => {
    const w = new TimerWindow(4);
    w.load([t('a', 1)], 4);
    w.remove('a');
    expect(w.needsLoad()).toBe(false);
    w.add(t('far', 1e12));
    expect(w.nextDue()).toBe(1e12);
  });

  it('due answers only what is due, at most limit; postpone moves a timer later in memory', () => {
    const w = new TimerWindow(10);
    w.load([t('a', 5), t('b', 6), t('c', 50)], 10);
    expect(w.due(6, 1).map((x) => x.id)).toEqual(['a']);
    expect(w.due(6, 10).map((x) => x.id)).toEqual(['a', 'b']);
    w.postpone('a', 60);
    expect(w.due(59, 10).map((x) => x.id)).toEqual(['b', 'c']);
    expect(w.nextDue()).toBe(6);
    w.reset();
    expect(w.needsLoad()).toBe(true);
    expect(w.size()).toBe(0);
  });
});
