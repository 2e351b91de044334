/**
 * A Prometheus histogram whose buckets are read from the node at scrape time: the node
 * already keeps bucket counts (cheaply, on its hot path), so this family renders those
 * counts as they are, in seconds.
 */
import type { LatencyHistogramSnapshot } from './admin-source.js';
import type { ExpositionFamily, ExpositionSample } from './exposition.js';
import type { HistogramSpec } from './metric-specs.js';

/** The Prometheus samples of `histogram` (in ms) as cumulative buckets, sum and count in seconds. */
export function histogramValues(name: string, histogram: LatencyHistogramSnapshot): ExpositionSample[] {
  const values: ExpositionSample[] = [];
  let cumulative = 0;
  histogram.boundsMs.forEach((boundMs, i) => {
    cumulative += histogram.counts[i] ?? 0;
    values.push({ name: `${name}_bucket`, labels: { le: String(boundMs / 1000) }, value: cumulative });
  });
  cumulative += histogram.counts[histogram.boundsMs.length] ?? 0;
  values.push({ name: `${name}_bucket`, labels: { le: '+Inf' }, value: cumulative });
  values.push({ name: `${name}_sum`, labels: {}, value: histogram.sumMs / 1000 });
  values.push({ name: `${name}_count`, labels: {}, value: cumulative });
  return values;
}

/** The family of `spec` for one histogram read from a snapshot (no series when undefined). */
export function histogramFamily(spec: HistogramSpec, histogram: LatencyHistogramSnapshot | undefined): ExpositionFamily {
  return { name: spec.name, help: spec.help, type: 'histogram', samples: histogram === undefined ? [] : histogramValues(spec.name, histogram) };
}
