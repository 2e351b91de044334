// The entity metrics: active entities per type, calls by outcome and the other counters
// read from the snapshot, the call latency histogram rendered as cumulative buckets in
// seconds, and what a node that hosts no entities exports.
import { afterEach, describe, expect, it } from 'vitest';
import { createAdminMetrics, HISTOGRAM_SPECS, type AdminMetrics } from '../../src/gateway/index.js';
import { histogramValues } from '../../src/gateway/snapshot-histogram.js';
import { parseExposition, value, type Exposition } from './exposition.js';
import { FixtureSource, fixtureEntityMetrics, fixtureSnapshot } from './fixture.js';

let metrics: AdminMetrics | undefined;

afterEach(() => {
  metrics?.close();
  metrics = undefined;
});

async function scrapeWith(entities: ReturnType<typeof fixtureEntityMetrics> | undefined): Promise<Exposition> {
  const source = new FixtureSource();
  source.snapshot = entities === undefined ? fixtureSnapshot() : { ...fixtureSnapshot(), entities };
  metrics = createAdminMetrics(source);
  return parseExposition(await metrics.scrape());
}

describe('entity metrics', () => {
  it('export active entities per type (0 included) and every counter from the snapshot', async () => {
    const exp = await scrapeWith(fixtureEntityMetrics());
    expect(exp.types.get('flotilla_entities_active')).toBe('gauge');
    expect(value(exp, 'flotilla_entities_active', { type: 'Counter' })).toBe(4);
    expect(value(exp, 'flotilla_entities_active', { type: 'Cart' })).toBe(1);
    expect(value(exp, 'flotilla_entities_active', { type: 'Idle' })).toBe(0);
    expect(value(exp, 'flotilla_entity_activations_total')).toBe(12);
    expect(value(exp, 'flotilla_entity_passivations_total')).toBe(6);
    expect(value(exp, 'flotilla_entity_evictions_total')).toBe(1);
    expect(value(exp, 'flotilla_entity_calls_total', { outcome: 'ok' })).toBe(40);
    expect(value(exp, 'flotilla_entity_calls_total', { outcome: 'FLO_HANDLER_FAILED' })).toBe(2);
    expect(value(exp, 'flotilla_entity_calls_total', { outcome: 'FLO_MAILBOX_FULL' })).toBe(1);
    expect(value(exp, 'flotilla_entity_mailbox_rejections_total')).toBe(1);
    expect(value(exp, 'flotilla_entity_loads_total')).toBe(9);
    expect(value(exp, 'flotilla_entity_writes_total')).toBe(30);
    expect(value(exp, 'flotilla_entity_stale_epoch_writes_total')).toBe(1);
    for (const s of exp.samples.filter((x) => x.name.startsWith('flotilla_entit'))) expect(s.labels.node_id).toBe('n1');
  });

  it('render the call latency as a Prometheus histogram in seconds, buckets cumulative', async () => {
    const exp = await scrapeWith(fixtureEntityMetrics());
    const name = 'flotilla_entity_call_duration_seconds';
    expect(HISTOGRAM_SPECS.map((s) => s.name)).toContain(name);
    expect(exp.types.get(name)).toBe('histogram');
    expect(value(exp, `${name}_bucket`, { le: '0.001' })).toBe(20);
    expect(value(exp, `${name}_bucket`, { le: '0.01' })).toBe(35);
    expect(value(exp, `${name}_bucket`, { le: '0.1' })).toBe(42);
    expect(value(exp, `${name}_bucket`, { le: '+Inf' })).toBe(43);
    expect(value(exp, `${name}_count`)).toBe(43);
    expect(value(exp, `${name}_sum`)).toBeCloseTo(0.512, 9);
  });

  it('on a node without entities: no labelled series, no histogram samples, counters at 0', async () => {
    const exp = await scrapeWith(undefined);
    expect(exp.types.get('flotilla_entity_call_duration_seconds')).toBe('histogram');
    expect(exp.samples.filter((s) => s.name === 'flotilla_entities_active' || s.name === 'flotilla_entity_calls_total')).toEqual([]);
    expect(exp.samples.filter((s) => s.name.startsWith('flotilla_entity_call_duration'))).toEqual([]);
    expect(value(exp, 'flotilla_entity_activations_total')).toBe(0);
  });

  it('forget a call outcome that disappeared from the snapshot', async () => {
    const source = new FixtureSource();
    source.snapshot = { ...fixtureSnapshot(), entities: fixtureEntityMetrics() };
    metrics = createAdminMetrics(source);
    expect(value(parseExposition(await metrics.scrape()), 'flotilla_entity_calls_total', { outcome: 'FLO_MAILBOX_FULL' })).toBe(1);
    source.snapshot = { ...fixtureSnapshot(), entities: { ...fixtureEntityMetrics(), callOutcomes: { ok: 41 } } };
    const exp = parseExposition(await metrics.scrape());
    expect(value(exp, 'flotilla_entity_calls_total', { outcome: 'FLO_MAILBOX_FULL' })).toBeUndefined();
    expect(value(exp, 'flotilla_entity_calls_total', { outcome: 'ok' })).toBe(41);
  });
});

describe('histogramValues', () => {
  it.each([
    { counts: [0, 0, 0, 0], sumMs: 0, buckets: [0, 0, 0, 0] },
    { counts: [1, 0, 0, 0], sumMs: 1, buckets: [1, 1, 1, 1] },
    { counts: [0, 0, 0, 3], sumMs: 30_000, buckets: [0, 0, 0, 3] },
    { counts: [2, 3, 4, 5], sumMs: 100, buckets: [2, 5, 9, 14] },
  ])('counts $counts give cumulative buckets $buckets', ({ counts, sumMs, buckets }) => {
    const values = histogramValues('h', { boundsMs: [1, 10, 100], counts, sumMs });
    expect(values.filter((v) => v.name === 'h_bucket').map((v) => [v.labels.le, v.value])).toEqual([
      ['0.001', buckets[0]],
      ['0.01', buckets[1]],
      ['0.1', buckets[2]],
      ['+Inf', buckets[3]],
    ]);
    expect(values.find((v) => v.name === 'h_count')?.value).toBe(buckets[3]);
    expect(values.find((v) => v.name === 'h_sum')?.value).toBe(sumMs / 1000);
  });
});
