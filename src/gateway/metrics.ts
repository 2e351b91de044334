/**
 * The Prometheus registry of one admin server. Values are not pushed: each scrape reads
 * one `MetricsSnapshot` from the node and the collect callbacks copy it into the metrics.
 * Each server owns its registry (never prom-client's global one), so several nodes in one
 * process do not clash.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { AdminSource, MetricsSnapshot } from './admin-source.js';
import { registerEventLoopMetrics } from './event-loop-metrics.js';
import { HISTOGRAM_SPECS, METRIC_SPECS, type MetricSpec } from './metric-specs.js';
import { registerSnapshotHistogram } from './snapshot-histogram.js';

/** Options of `createAdminMetrics`. */
export interface AdminMetricsOptions {
  /** Also register prom-client's process metrics (see `AdminServerConfig.processMetrics`). */
  readonly processMetrics?: boolean;
}

/** A registry bound to one node. */
export interface AdminMetrics {
  /** The registry itself, for callers that add their own metrics. */
  readonly registry: Registry;
  /** Content type of `scrape()`'s text (Prometheus text exposition format). */
  readonly contentType: string;
  /** Reads one snapshot from the node and renders every metric. */
  scrape(): Promise<string>;
  /** Stops the event-loop sampler. The registry still renders, with stale lag values. */
  close(): void;
}

/** Builds the registry for `source`; every metric carries the label `node_id`. */
export function createAdminMetrics(source: Pick<AdminSource, 'nodeId' | 'metricsSnapshot'>, options: AdminMetricsOptions = {}): AdminMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ node_id: source.nodeId });
  // One snapshot per scrape: every collect callback reads the same one, so values taken
  // together (owned vs backed-up partitions, members by state) are consistent.
  let current: MetricsSnapshot | undefined;
  const snapshot = (): MetricsSnapshot => current ?? source.metricsSnapshot();
  for (const spec of METRIC_SPECS) registerSpec(registry, spec, snapshot);
  for (const spec of HISTOGRAM_SPECS) registerSnapshotHistogram(registry, spec, snapshot);
  const eventLoop = registerEventLoopMetrics(registry);
  if (options.processMetrics === true) collectDefaultMetrics({ register: registry });
  return {
    registry,
    contentType: registry.contentType,
    async scrape(): Promise<string> {
      current = source.metricsSnapshot();
      try {
        return await registry.metrics();
      } finally {
        current = undefined;
      }
    },
    close: () => eventLoop.close(),
  };
}

function registerSpec(registry: Registry, spec: MetricSpec, snapshot: () => MetricsSnapshot): void {
  const base = { name: spec.name, help: spec.help, labelNames: [...spec.labelNames], registers: [registry] };
  // Reset before refilling so label sets that disappeared (a message type, a drop reason)
  // vanish instead of repeating their last value.
  if (spec.kind === 'counter') {
    const counter: Counter = new Counter({
      ...base,
      collect: () => {
        counter.reset();
        for (const sample of spec.read(snapshot())) counter.inc({ ...sample.labels }, sample.value);
      },
    });
  } else {
    const gauge: Gauge = new Gauge({
      ...base,
      collect: () => {
        gauge.reset();
        for (const sample of spec.read(snapshot())) gauge.set({ ...sample.labels }, sample.value);
      },
    });
  }
}
