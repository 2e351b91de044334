// The hand-written Prometheus text format: what the strict reader of the metrics tests
// reads back is what was rendered, escapes included, and odd values are spelled as
// Prometheus parses them.
import { describe, expect, it } from 'vitest';
import { formatSampleValue, renderExposition, type ExpositionFamily } from '../../src/gateway/exposition.js';
import { parseExposition } from './exposition.js';

describe('formatSampleValue', () => {
  it.each([
    [0, '0'],
    [42, '42'],
    [-1.5, '-1.5'],
    [0.001, '0.001'],
    [1e21, '1e+21'],
    [Number.NaN, 'NaN'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
  ])('%s is written %s', (value, text) => {
    expect(formatSampleValue(value)).toBe(text);
  });
});

describe('renderExposition', () => {
  const families: ExpositionFamily[] = [
    { name: 'a_total', help: 'Help with a \\ backslash\nand a newline.', type: 'counter', samples: [{ labels: {}, value: 3 }] },
    {
      name: 'b',
      help: 'Labelled.',
      type: 'gauge',
      samples: [
        { labels: { kind: 'quote " back \\ nl \n end' }, value: 1 },
        { labels: { kind: 'plain' }, value: Number.NaN },
      ],
    },
    { name: 'c', help: 'No series.', type: 'gauge', samples: [] },
    {
      name: 'h_seconds',
      help: 'A histogram.',
      type: 'histogram',
      samples: [
        { name: 'h_seconds_bucket', labels: { le: '0.1' }, value: 1 },
        { name: 'h_seconds_bucket', labels: { le: '+Inf' }, value: 2 },
        { name: 'h_seconds_sum', labels: {}, value: 0.25 },
        { name: 'h_seconds_count', labels: {}, value: 2 },
      ],
    },
  ];

  it('reads back family types, names, labels and values, with the common labels on every sample', () => {
    const text = renderExposition(families, { node_id: 'n"1' });
    const exp = parseExposition(text);
    expect([...exp.types]).toEqual([
      ['a_total', 'counter'],
      ['b', 'gauge'],
      ['c', 'gauge'],
      ['h_seconds', 'histogram'],
    ]);
    expect(exp.samples.map((s) => s.name)).toEqual(['a_total', 'b', 'b', 'h_seconds_bucket', 'h_seconds_bucket', 'h_seconds_sum', 'h_seconds_count']);
    expect(exp.samples.every((s) => s.labels.node_id === 'n\\"1')).toBe(true);
    expect(exp.samples[1]!.labels.kind).toBe('quote \\" back \\\\ nl \\n end');
    expect(exp.samples[2]!.value).toBeNaN();
    expect(exp.samples[4]!.labels.le).toBe('+Inf');
  });

  it('keeps each line on one line: help and label values escape their newlines', () => {
    const lines = renderExposition(families).trimEnd().split('\n');
    expect(lines[0]).toBe('# HELP a_total Help with a \\\\ backslash\\nand a newline.');
    expect(lines).toHaveLength(2 * families.length + 7);
    expect(renderExposition(families).endsWith('\n')).toBe(true);
  });

  it('renders samples without braces when there are no labels at all', () => {
    expect(renderExposition([families[0]!])).toBe('# HELP a_total Help with a \\\\ backslash\\nand a newline.\n# TYPE a_total counter\na_total 3\n');
  });
});
