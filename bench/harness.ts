/**
 * A small benchmark harness: each `*.bench.ts` file exports a suite whose cases return
 * rows of measurements; `run.ts` prints them with the machine's description and writes
 * them into `docs/benchmarks.md` between per-suite markers, leaving other suites' text as
 * it is. Fixed seeds live in the suites themselves.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';

/** One result row: column name -> value (numbers are formatted for the table). */
export type Row = Record<string, string | number>;

/** A benchmark suite: a title, notes for the docs, and a function producing rows. */
export interface Suite {
  /** Stable id, used for the markers in docs/benchmarks.md and to select suites. */
  readonly id: string;
  readonly title: string;
  /** Markdown placed above the table (what is measured, targets). */
  readonly notes?: string;
  run(): Promise<Row[]> | Row[];
}

/** Time `fn` over `iterations` calls after `warmup` calls; returns ops/s and ns/op. */
export function measureOps(fn: () => void, iterations: number, warmup = Math.min(1000, iterations)): { opsPerSec: number; nsPerOp: number } {
  for (let i = 0; i < warmup; i++) fn();
  const start = performance.now();
  for (let i = 0; i < iterations; i++) fn();
  const elapsedMs = performance.now() - start;
  return { opsPerSec: iterations / (elapsedMs / 1000), nsPerOp: (elapsedMs * 1e6) / iterations };
}

/** Time one call of `fn` `repeats` times and report percentiles in milliseconds. */
export function measureLatencyMs(fn: () => void, repeats: number): { p50: number; p99: number; max: number; mean: number } {
  const samples: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    fn();
    samples.push(performance.now() - start);
  }
  return summarize(samples);
}

/** Percentile summary of samples. */
export function summarize(samples: readonly number[]): { p50: number; p99: number; max: number; mean: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const pick = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const mean = sorted.reduce((s, v) => s + v, 0) / Math.max(1, sorted.length);
  return { p50: pick(0.5), p99: pick(0.99), max: sorted[sorted.length - 1] ?? 0, mean };
}

/** Round for display: 3 significant digits below 100, integers above. */
export function fmt(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  return value.toPrecision(3);
}

/** One line describing the machine, for the docs and the console. */
export function machineDescription(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() ?? 'unknown CPU';
  const memGiB = (os.totalmem() / 2 ** 30).toFixed(0);
  return `${model}, ${cpus.length} cores, ${memGiB} GiB RAM, ${os.platform()} ${os.release()}, Node.js ${process.version}`;
}

/** Render rows as a markdown table. */
export function toMarkdownTable(rows: readonly Row[]): string {
  if (rows.length === 0) return '_no rows_';
  const columns = Object.keys(rows[0]!);
  const cell = (v: string | number | undefined): string => (typeof v === 'number' ? fmt(v) : (v ?? ''));
  const lines = [
    `| ${columns.join(' | ')} |`,
    `| ${columns.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${columns.map((c) => cell(r[c])).join(' | ')} |`),
  ];
  return lines.join('\n');
}
