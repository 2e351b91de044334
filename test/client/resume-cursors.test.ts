// The client's resume cursors: a cursor starts only once a node answered the
// subscription, a node's marks count only for the partitions its answer covered, marks
// never move a cursor back, and a lost connection or a map change (owners may have moved)
// stops a node's marks until its next answer.
import { describe, expect, it } from 'vitest';
import { ResumeCursors } from '../../src/client/resume-cursors.js';

describe('resume cursors', () => {
  it('is null (a fresh subscription) until a node answers, then the answer`s marks', () => {
    const c = new ResumeCursors();
    expect(c.since(1)).toBeNull();
    c.subscribed(1, 'a', []);
    expect(c.since(1)).toEqual(new Map());
    c.subscribed(1, 'a', [[3, 100], [4, 200]]);
    expect(c.since(1)).toEqual(new Map([[3, 100], [4, 200]]));
    expect(c.since(2)).toBeNull();
  });

  it.each<[string, (c: ResumeCursors) => void, number | undefined]>([
    ['a covered partition advances', () => undefined, 150],
    ['a partition the answer did not cover stays', (c) => c.subscribed(1, 'a', [[4, 10]]), 100],
    ['another node`s mark for it stays', (c) => c.subscribed(1, 'b', []), 100],
    ['after the connection was lost it stays', (c) => c.lost('a'), 100],
    ['after a map change it stays', (c) => c.lostAll(), 100],
    ['after the next answer covers it again it advances', (c) => (c.lost('a'), c.subscribed(1, 'a', [[3, 120]])), 150],
  ])('an event mark from node a for partition 3: %s', (_name, between, expected) => {
    const c = new ResumeCursors();
    c.subscribed(1, 'a', [[3, 100]]);
    between(c);
    const from = _name.includes('another node') ? 'b' : 'a';
    c.marked(1, from, 3, 150);
    expect(c.since(1)!.get(3)).toBe(expected);
  });

  it('never moves a cursor back, and forgets an ended subscription', () => {
    const c = new ResumeCursors();
    c.subscribed(1, 'a', [[3, 100]]);
    expect(c.marked(1, 'a', 3, 90)).toBe(false);
    c.subscribed(1, 'b', [[3, 50]]);
    expect(c.since(1)!.get(3)).toBe(100);
    expect(c.marked(1, 'a', 3, 101)).toBe(true);
    c.forget(1);
    expect(c.since(1)).toBeNull();
  });

  it('hands out a copy: a cursor sent is not changed by marks after it', () => {
    const c = new ResumeCursors();
    c.subscribed(1, 'a', [[3, 100]]);
    const sent = c.since(1)!;
    c.marked(1, 'a', 3, 200);
    expect(sent.get(3)).toBe(100);
  });
});
