/**
 * The Prometheus metrics of one admin server. Values are not pushed: each scrape reads
 * one `MetricsSnapshot` from the node and renders every family from it, in the text
 * format written by `exposition.ts`. Nothing is registered process-wide, so several nodes
 * in one process do not clash, and nothing is held between scrapes but the event-loop
 * sampler.
 */
import type { AdminSource, MetricsSnapshot } from './admin-source.js';
import { startEventLoopMetrics } from './event-loop-metrics.js';
import { EXPOSITION_CONTENT_TYPE, renderExposition, type ExpositionFamily } from './exposition.js';
import { HISTOGRAM_SPECS, METRIC_SPECS, type MetricSpec } from './metric-specs.js';
import { processFamilies } from './process-metrics.js';
import { histogramFamily } from './snapshot-histogram.js';

/** Options of `createAdminMetrics`. */
export interface AdminMetricsOptions {
  /** Also export process metrics (see `AdminServerConfig.processMetrics`). */
  readonly processMetrics?: boolean;
}

/** The metrics of one node. */
export interface AdminMetrics {
  /** Content type of `scrape()`'s text (Prometheus text exposition format 0.0.4). */
  readonly contentType: string;
  /** Reads one snapshot from the node and renders every metric. */
  scrape(): Promise<string>;
  /** Stops the event-loop sampler. Scrapes still render, with empty lag windows. */
  close(): void;
}

/**
 * A family from its spec. An unlabelled metric with no sample reads 0, so a counter such
 * as `flotilla_entity_loads_total` has a series from the start, as Prometheus clients do.
 */
function specFamily(spec: MetricSpec, snapshot: MetricsSnapshot): ExpositionFamily {
  const samples = spec.read(snapshot);
  const filled = samples.length === 0 && spec.labelNames.length === 0 ? [{ labels: {}, value: 0 }] : samples;
  return { name: spec.name, help: spec.help, type: spec.kind, samples: filled };
}

/** Builds the metrics of `source`; every sample carries the label `node_id`. */
export function createAdminMetrics(source: Pick<AdminSource, 'nodeId' | 'metricsSnapshot'>, options: AdminMetricsOptions = {}): AdminMetrics {
  const eventLoop = startEventLoopMetrics();
  const common = { node_id: source.nodeId };
  return {
    contentType: EXPOSITION_CONTENT_TYPE,
    scrape(): Promise<string> {
      try {
        return Promise.resolve(render());
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
    },
    close: () => eventLoop.close(),
  };

  function render(): string {
    // One snapshot per scrape, so values read together (owned vs backed-up partitions,
    // members by state) are consistent.
    const snapshot = source.metricsSnapshot();
    const families = [
      ...METRIC_SPECS.map((spec) => specFamily(spec, snapshot)),
      ...HISTOGRAM_SPECS.map((spec) => histogramFamily(spec, spec.read(snapshot))),
      ...eventLoop.families(),
      ...(options.processMetrics === true ? processFamilies() : []),
    ];
    return renderExposition(families, common);
  }
}
