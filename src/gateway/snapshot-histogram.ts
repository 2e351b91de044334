/**
 * A Prometheus histogram whose buckets are read from the node at scrape time. prom-client's
 * own `Histogram` can only be fed one observation at a time, but the node already keeps
 * bucket counts (cheaply, on its hot path), so this metric renders those counts as they are.
 */
import type { Metric, Registry } from 'prom-client';
import type { LatencyHistogramSnapshot, MetricsSnapshot } from './admin-source.js';
import type { HistogramSpec } from './metric-specs.js';

/** One rendered line of the histogram: a bucket, the sum or the count. */
interface HistogramValue {
  readonly metricName: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** The Prometheus samples of `histogram` (in ms) as cumulative buckets, sum and count in seconds. */
export function histogramValues(name: string, histogram: LatencyHistogramSnapshot): HistogramValue[] {
  const values: HistogramValue[] = [];
  let cumulative = 0;
  histogram.boundsMs.forEach((boundMs, i) => {
    cumulative += histogram.counts[i] ?? 0;
    values.push({ metricName: `${name}_bucket`, labels: { le: String(boundMs / 1000) }, value: cumulative });
  });
  cumulative += histogram.counts[histogram.boundsMs.length] ?? 0;
  values.push({ metricName: `${name}_bucket`, labels: { le: '+Inf' }, value: cumulative });
  values.push({ metricName: `${name}_sum`, labels: {}, value: histogram.sumMs / 1000 });
  values.push({ metricName: `${name}_count`, labels: {}, value: cumulative });
  return values;
}

/** Registers `spec` on `registry`; each scrape reads the histogram from `snapshot()`. */
export function registerSnapshotHistogram(registry: Registry, spec: HistogramSpec, snapshot: () => MetricsSnapshot): void {
  const metric = {
    name: spec.name,
    help: spec.help,
    type: 'histogram',
    aggregator: 'sum',
    collect: (): void => undefined,
    get: (): Promise<{ name: string; help: string; type: string; aggregator: string; values: HistogramValue[] }> => {
      const histogram = spec.read(snapshot());
      const values = histogram === undefined ? [] : histogramValues(spec.name, histogram);
      return Promise.resolve({ name: spec.name, help: spec.help, type: 'histogram', aggregator: 'sum', values });
    },
  };
  // The registry renders any object with this shape; its type only names prom-client's classes.
  registry.registerMetric(metric as unknown as Metric);
}
