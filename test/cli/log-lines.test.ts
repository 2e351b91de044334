// The dev cluster's rendering of JSON log lines: short, prefixed, never losing a line.
import { describe, expect, it } from 'vitest';
import { FIELD_CHARS_MAX, namePrefix, renderLogLine } from '../../src/cli/log-lines.js';

const plain = { colour: false };

describe('renderLogLine', () => {
  it('shows time, level, message and the remaining fields', () => {
    const time = new Date(2026, 0, 2, 3, 4, 5, 6).getTime();
    const line = JSON.stringify({ level: 30, time, nodeId: 'n1', msg: 'member joined', member: 'n2', tags: { zone: 'a' }, note: 'two words' });
    expect(renderLogLine(line, plain)).toBe('03:04:05.006 INFO  member joined member=n2 tags={"zone":"a"} note="two words"');
  });

  it('names every level and cuts long values', () => {
    expect(renderLogLine(JSON.stringify({ level: 50, msg: 'x' }), plain)).toMatch(/ ERROR x$/);
    expect(renderLogLine(JSON.stringify({ level: 40, msg: 'x', v: 'y'.repeat(500) }), plain)).toContain(`v=${'y'.repeat(FIELD_CHARS_MAX - 1)}…`);
  });

  it.each(['not json', '[1,2]', '42', ''])('passes %j through unchanged', (line) => expect(renderLogLine(line, plain)).toBe(line));

  it('colours only when asked', () => {
    expect(renderLogLine(JSON.stringify({ level: 50, msg: 'x' }), { colour: true })).toContain('\u001b[31m');
    expect(namePrefix('node-1', 0, 7, plain)).toBe('node-1  | ');
    expect(namePrefix('node-1', 0, 7, { colour: true })).toContain('\u001b[');
  });
});
