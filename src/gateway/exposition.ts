/**
 * The Prometheus text exposition format (version 0.0.4), written directly. Every value the
 * admin server exports is read from the node at scrape time, so a metrics library's
 * registries, metric objects and label maps would only be copied into and out of again;
 * rendering the families here keeps the dependency (and its memory) out of the process.
 */

/** Content type of the text format, as Prometheus expects it. */
export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** One line of a family: a sample, with its own name for histogram parts (`_bucket`, ...). */
export interface ExpositionSample {
  /** Sample name when it differs from the family's (histograms); default the family name. */
  readonly name?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** One metric family: `# HELP`, `# TYPE`, then its samples. */
export interface ExpositionFamily {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly samples: readonly ExpositionSample[];
}

const escapeHelp = (text: string): string => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const escapeLabel = (text: string): string => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

/** A sample value as Prometheus reads it (`NaN`, `+Inf`, `-Inf` spelled its way). */
export function formatSampleValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function labelText(labels: Readonly<Record<string, string>>, common: string): string {
  const own = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  if (common !== '') own.push(common);
  return own.length === 0 ? '' : `{${own.join(',')}}`;
}

/**
 * Renders `families` in order; `commonLabels` (e.g. `node_id`) go on every sample after
 * the sample's own labels.
 */
export function renderExposition(families: readonly ExpositionFamily[], commonLabels: Readonly<Record<string, string>> = {}): string {
  const common = Object.entries(commonLabels)
    .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
    .join(',');
  const lines: string[] = [];
  for (const family of families) {
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples) {
      lines.push(`${sample.name ?? family.name}${labelText(sample.labels, common)} ${formatSampleValue(sample.value)}`);
    }
  }
  lines.push('');
  return lines.join('\n');
}
