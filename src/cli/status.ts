/**
 * `flotilla status`: asks one node's admin API for its health, members, partitions,
 * migrations and entities, and renders them as tables (or one JSON object). Returns the text and an
 * exit code instead of printing, so the command is testable and the CLI entry point stays
 * a thin wrapper.
 */
import type {
  AdminPartition,
  HealthReport,
  MembersReport,
  MigrationInfo,
  MigrationsReport,
  PartitionsReport,
} from '../gateway/admin-source.js';
import type { EntitiesReport } from '../gateway/entity-routes.js';
import { formatPairs, renderTable } from './format.js';

/** Options of `runStatus`. */
export interface StatusOptions {
  /** Base URL of the admin API, e.g. `http://127.0.0.1:9180`. */
  readonly url: string;
  /** Print one JSON object instead of tables. */
  readonly json?: boolean;
  /** The node's admin token, sent as `Authorization: Bearer`; without it, protected routes answer 401. */
  readonly token?: string;
  /** The fetch to use; defaults to the global one. */
  readonly fetch?: typeof globalThis.fetch;
  /** Deadline of each request, in ms. Default `STATUS_TIMEOUT_MS`. */
  readonly timeoutMs?: number;
}

/** What the command prints and how it exits. */
export interface StatusResult {
  /** 0: the node answered and is serving; 2: it answered but is not serving (503 health); 1: error. */
  readonly exitCode: 0 | 1 | 2;
  /** Text to print, without a final newline. */
  readonly output: string;
}

/** Default deadline of each admin request, in ms. */
export const STATUS_TIMEOUT_MS = 5_000;

/** Partitions one node holds. */
export interface NodePartitionCount {
  readonly owned: number;
  readonly backups: number;
}

/** Everything `status` gathered from one node. */
export interface StatusReport {
  readonly url: string;
  readonly health: HealthReport;
  /** Whether `/health` answered 200 (ok or degraded) rather than 503. */
  readonly serving: boolean;
  readonly members: MembersReport;
  readonly partitions: PartitionsReport;
  readonly partitionsByNode: Readonly<Record<string, NodePartitionCount>>;
  readonly migrations: MigrationsReport;
  /** Entities active on the node, per type; absent when the node serves no `/entities`. */
  readonly entities?: EntitiesReport;
}

/** A failure of an admin request, already worded for the command line. */
export class StatusError extends Error {}

/** Fetches the node's state and renders it. Never throws: failures become one line and exit 1. */
export async function runStatus(options: StatusOptions): Promise<StatusResult> {
  try {
    const report = await gather(options);
    const output = options.json === true ? JSON.stringify(report, null, 2) : renderStatus(report);
    return { exitCode: report.serving ? 0 : 2, output };
  } catch (err) {
    const reason = err instanceof StatusError ? err.message : `unexpected error: ${oneLine(err)}`;
    return { exitCode: 1, output: `flotilla status: ${reason}` };
  }
}

/** The admin API base URL from `raw`, with a trailing slash; throws StatusError when unusable. */
export function baseUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new StatusError(`invalid URL ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new StatusError(`URL must be http or https, got ${url.protocol}`);
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  url.search = '';
  url.hash = '';
  return url;
}

async function gather(options: StatusOptions): Promise<StatusReport> {
  const base = baseUrl(options.url);
  const doFetch = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? STATUS_TIMEOUT_MS;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
  const get = (path: string, also: readonly number[] = []): Promise<{ status: number; body: unknown }> =>
    getJson(doFetch, new URL(path, base), timeoutMs, also, headers);
  const [health, members, partitions, migrations, entities] = await Promise.all([
    get('health', [503]),
    get('cluster/members'),
    get('cluster/partitions'),
    get('cluster/migrations'),
    // Counts only (limit 0); a source without entities (or an older node) answers 404.
    get('entities?limit=0', [404]),
  ]);
  const table = expectShape<PartitionsReport>(partitions.body, 'partitions', 'cluster/partitions');
  return {
    url: base.href,
    health: expectShape<HealthReport>(health.body, 'status', 'health'),
    serving: health.status === 200,
    members: expectShape<MembersReport>(members.body, 'members', 'cluster/members'),
    partitions: table,
    partitionsByNode: countByNode(table.partitions),
    migrations: expectShape<MigrationsReport>(migrations.body, 'inFlight', 'cluster/migrations'),
    ...(entities.status === 200 ? { entities: expectShape<EntitiesReport>(entities.body, 'types', 'entities') } : {}),
  };
}

/** GETs `url` and parses JSON; a status other than 200 and `also` throws StatusError. */
export async function getJson(
  doFetch: typeof globalThis.fetch,
  url: URL,
  timeoutMs: number,
  also: readonly number[],
  headers: Record<string, string>,
): Promise<{ status: number; body: unknown }> {
  let response: Response;
  let text: string;
  try {
    response = await doFetch(url, { signal: AbortSignal.timeout(timeoutMs), headers });
    text = await response.text();
  } catch (err) {
    throw new StatusError(`cannot reach ${url.href}: ${fetchFailure(err, timeoutMs)}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new StatusError(`${url.href} answered ${response.status} with a body that is not JSON`);
  }
  if (response.status !== 200 && !also.includes(response.status)) {
    const hint = response.status === 401 ? ' (give the admin token with --token or FLOTILLA_ADMIN_TOKEN)' : '';
    throw new StatusError(`${url.href} answered ${response.status}${describeError(body)}${hint}`);
  }
  return { status: response.status, body };
}

function describeError(body: unknown): string {
  if (typeof body !== 'object' || body === null) return '';
  const { code, error } = body as { code?: unknown; error?: unknown };
  return typeof code === 'string' && typeof error === 'string' ? ` ${code}: ${oneLine(error)}` : '';
}

function fetchFailure(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return `no answer within ${timeoutMs} ms`;
  // undici reports the socket error (ECONNREFUSED, ENOTFOUND...) as the cause of "fetch failed".
  const cause = err instanceof Error ? (err.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return oneLine(cause.message);
  return oneLine(err);
}

/** The first line of an error or value, trimmed. */
export function oneLine(value: unknown): string {
  const text = value instanceof Error ? value.message : String(value);
  return text.split('\n', 1)[0]!.trim();
}

function expectShape<T>(body: unknown, field: string, route: string): T {
  if (typeof body !== 'object' || body === null || !(field in body)) {
    throw new StatusError(`${route} answered an unexpected shape (no "${field}")`);
  }
  return body as T;
}

/** Partitions owned and backed up per node, from the table's assignments. */
export function countByNode(partitions: readonly AdminPartition[]): Record<string, NodePartitionCount> {
  const counts = new Map<string, { owned: number; backups: number }>();
  const entry = (node: string): { owned: number; backups: number } => {
    let c = counts.get(node);
    if (c === undefined) counts.set(node, (c = { owned: 0, backups: 0 }));
    return c;
  };
  for (const p of partitions) {
    if (p.owner !== null) entry(p.owner).owned++;
    for (const b of p.backups) entry(b).backups++;
  }
  return Object.fromEntries([...counts.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Renders a report as the tables `flotilla status` prints. */
export function renderStatus(report: StatusReport): string {
  const sections = [renderHealth(report), renderMembers(report.members), renderPartitions(report), renderMigrations(report.migrations.inFlight)];
  if (report.entities !== undefined && report.entities.types.length > 0) sections.push(renderEntities(report.entities));
  return sections.join('\n\n');
}

function renderHealth({ url, health }: StatusReport): string {
  const lines = [`Node ${health.nodeId}: ${health.status} (state ${health.state}) at ${url}`];
  const checks = Object.entries(health.checks);
  if (checks.length > 0) {
    lines.push(`Checks: ${checks.map(([name, c]) => `${name}=${c.status}${c.detail === undefined ? '' : ` (${c.detail})`}`).join(', ')}`);
  }
  return lines.join('\n');
}

function renderMembers(view: MembersReport): string {
  const rows = view.members.map((m) => [
    m.nodeId === view.master ? `${m.nodeId} *` : m.nodeId,
    m.address,
    m.state,
    String(m.incarnation),
    m.joinVersion === null ? '-' : String(m.joinVersion),
    formatPairs(m.tags),
  ]);
  const table = renderTable(
    [{ header: 'NODE' }, { header: 'ADDRESS' }, { header: 'STATE' }, { header: 'INCARNATION', align: 'right' }, { header: 'JOIN', align: 'right' }, { header: 'TAGS' }],
    rows,
  );
  return `Members (view version ${view.version}, master ${view.master ?? 'unknown'}; * = master)\n${table}`;
}

function renderPartitions({ partitions, partitionsByNode, members }: StatusReport): string {
  const nodes = new Set([...members.members.map((m) => m.nodeId), ...Object.keys(partitionsByNode)]);
  const rows = [...nodes].map((node) => {
    const c = partitionsByNode[node] ?? { owned: 0, backups: 0 };
    return [node, String(c.owned), String(c.backups)];
  });
  const unowned = partitions.partitions.filter((p) => p.owner === null).length;
  const title = `Partitions (table version ${partitions.version}, ${partitions.partitionCount} partitions${unowned > 0 ? `, ${unowned} without owner` : ''})`;
  return `${title}\n${renderTable([{ header: 'NODE' }, { header: 'OWNED', align: 'right' }, { header: 'BACKUPS', align: 'right' }], rows)}`;
}

function renderMigrations(inFlight: readonly MigrationInfo[]): string {
  if (inFlight.length === 0) return 'Migrations in flight: none';
  const rows = inFlight.map((m) => [m.id, String(m.partition), m.source, m.destination, m.role, m.state, new Date(m.startedAt).toISOString()]);
  const columns = [
    { header: 'ID' },
    { header: 'PARTITION', align: 'right' as const },
    { header: 'SOURCE' },
    { header: 'DESTINATION' },
    { header: 'ROLE' },
    { header: 'STATE' },
    { header: 'STARTED' },
  ];
  return `Migrations in flight: ${inFlight.length}\n${renderTable(columns, rows)}`;
}

function renderEntities(report: EntitiesReport): string {
  const rows = report.types.map((t) => [t.type, String(t.active)]);
  return `Entities active on ${report.nodeId}: ${report.active}\n${renderTable([{ header: 'TYPE' }, { header: 'ACTIVE', align: 'right' }], rows)}`;
}
