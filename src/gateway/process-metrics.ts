/**
 * Process metrics under the names prom-client's default metrics use (`process_cpu_*`,
 * `process_resident_memory_bytes`, `nodejs_heap_*`, ...), so dashboards built on those keep
 * working, read when scraped: no timer, no observer, nothing left running between
 * scrapes. GC and handle metrics, which need process-wide observers, are not exported;
 * the event-loop delay is `flotilla_eventloop_lag_*`.
 */
import v8 from 'node:v8';
import type { ExpositionFamily } from './exposition.js';

const US_PER_S = 1e6;
const MS_PER_S = 1e3;

/** When this process started, in seconds since the epoch. */
const PROCESS_START_S = Math.round(Date.now() / MS_PER_S - process.uptime());

function scalar(name: string, help: string, type: ExpositionFamily['type'], value: number): ExpositionFamily {
  return { name, help, type, samples: [{ labels: {}, value }] };
}

/** The process families, read now. */
export function processFamilies(): ExpositionFamily[] {
  const cpu = process.cpuUsage();
  const memory = process.memoryUsage();
  const spaces = v8.getHeapSpaceStatistics();
  const bySpace = (read: (s: v8.HeapSpaceInfo) => number) =>
    spaces.map((s) => ({ labels: { space: s.space_name.replace(/_space$/, '') }, value: read(s) }));
  return [
    scalar('process_cpu_user_seconds_total', 'Total user CPU time spent in seconds.', 'counter', cpu.user / US_PER_S),
    scalar('process_cpu_system_seconds_total', 'Total system CPU time spent in seconds.', 'counter', cpu.system / US_PER_S),
    scalar('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', 'counter', (cpu.user + cpu.system) / US_PER_S),
    scalar('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.', 'gauge', PROCESS_START_S),
    scalar('process_resident_memory_bytes', 'Resident memory size in bytes.', 'gauge', memory.rss),
    scalar('nodejs_heap_size_total_bytes', 'Process heap size from Node.js in bytes.', 'gauge', memory.heapTotal),
    scalar('nodejs_heap_size_used_bytes', 'Process heap size used from Node.js in bytes.', 'gauge', memory.heapUsed),
    scalar('nodejs_external_memory_bytes', 'Node.js external memory size in bytes.', 'gauge', memory.external),
    { name: 'nodejs_heap_space_size_total_bytes', help: 'Process heap space size total from Node.js in bytes.', type: 'gauge', samples: bySpace((s) => s.space_size) },
    { name: 'nodejs_heap_space_size_used_bytes', help: 'Process heap space size used from Node.js in bytes.', type: 'gauge', samples: bySpace((s) => s.space_used_size) },
    {
      name: 'nodejs_heap_space_size_available_bytes',
      help: 'Process heap space size available from Node.js in bytes.',
      type: 'gauge',
      samples: bySpace((s) => s.space_available_size),
    },
  ];
}
