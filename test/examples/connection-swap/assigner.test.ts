// The connection-swap director's assignment rule: sticky while the worker stays
// available, round-robin over the available ones otherwise, skipping workers that failed
// the request, and bounded memory.
import { describe, expect, it } from 'vitest';
import { Assigner, SESSIONS_MAX } from '../../../examples/connection-swap/src/assigner.js';

describe('Assigner', () => {
  it('hands new sessions out round-robin, in node id order, wrapping around', () => {
    const a = new Assigner();
    expect(['s1', 's2', 's3', 's4'].map((s) => a.pick(s, ['w2', 'w1', 'w3']))).toEqual(['w1', 'w2', 'w3', 'w1']);
  });

  it('keeps a session on its worker while that worker is available', () => {
    const a = new Assigner();
    expect(a.pick('s', ['w1', 'w2'])).toBe('w1');
    a.pick('other', ['w1', 'w2']);
    expect(a.pick('s', ['w1', 'w2', 'w3'])).toBe('w1');
  });

  it('moves a session to the next available worker when its own is gone or excluded', () => {
    const a = new Assigner();
    expect(a.pick('s', ['w1', 'w2', 'w3'])).toBe('w1');
    expect(a.pick('s', ['w2', 'w3'])).toBe('w2');
    expect(a.pick('s', ['w1', 'w2', 'w3'], new Set(['w2']))).toBe('w3');
    expect(a.assigned('s')).toBe('w3');
  });

  it('answers undefined when no worker is usable, and keeps the assignment', () => {
    const a = new Assigner();
    a.pick('s', ['w1']);
    expect(a.pick('s', [])).toBeUndefined();
    expect(a.pick('s', ['w1'], new Set(['w1']))).toBeUndefined();
    expect(a.assigned('s')).toBe('w1');
  });

  it(`forgets the oldest assignment beyond ${SESSIONS_MAX} sessions`, () => {
    const a = new Assigner();
    for (let i = 0; i <= SESSIONS_MAX; i++) a.pick(`s${i}`, ['w1']);
    expect(a.assigned('s0')).toBeUndefined();
    expect(a.assigned(`s${SESSIONS_MAX}`)).toBe('w1');
  });
});
