/**
 * `flotilla members`: service discovery from outside the program. It asks one node's
 * admin API for the members carrying given tags (`GET /cluster/members?tag=k=v`) and
 * prints them as a table, as JSON, or one address per line for scripts.
 */
import type { AdminMember, AdminMemberState, MembersReport } from '../gateway/admin-source.js';
import { formatPairs, renderTable } from './format.js';
import { baseUrl, getJson, oneLine, STATUS_TIMEOUT_MS, StatusError } from './status.js';

/** How `flotilla members` prints what it found. */
export type MembersFormat = 'table' | 'json' | 'addresses';

/** Options of `runMembers`. */
export interface MembersOptions {
  /** Base URL of the admin API, e.g. `http://127.0.0.1:9180`. */
  readonly url: string;
  /** Tags every listed member must carry. Default none (every member). */
  readonly tags?: Readonly<Record<string, string>>;
  /** Only members in this state (as the asked node sees them). Default any. */
  readonly state?: AdminMemberState;
  readonly format?: MembersFormat;
  /** The node's admin token, sent as `Authorization: Bearer`. */
  readonly token?: string;
  /** The fetch to use; defaults to the global one. */
  readonly fetch?: typeof globalThis.fetch;
  /** Deadline of the request, in ms. Default `STATUS_TIMEOUT_MS`. */
  readonly timeoutMs?: number;
}

/** What the command prints and how it exits. */
export interface MembersResult {
  /** 0: the node answered (even with no member); 1: error. */
  readonly exitCode: 0 | 1;
  /** Text to print, without a final newline (empty for no address). */
  readonly output: string;
}

/** The admin path (relative to the base URL) that answers this query. */
export function membersPath(tags: Readonly<Record<string, string>>, state: AdminMemberState | undefined): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(tags)) query.append('tag', `${key}=${value}`);
  if (state !== undefined) query.set('state', state);
  const text = query.toString();
  return text === '' ? 'cluster/members' : `cluster/members?${text}`;
}

/** Fetches the matching members and renders them. Never throws: failures become one line and exit 1. */
export async function runMembers(options: MembersOptions): Promise<MembersResult> {
  try {
    const base = baseUrl(options.url);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
    const url = new URL(membersPath(options.tags ?? {}, options.state), base);
    const { body } = await getJson(options.fetch ?? globalThis.fetch, url, options.timeoutMs ?? STATUS_TIMEOUT_MS, [], headers);
    if (typeof body !== 'object' || body === null || !Array.isArray((body as { members?: unknown }).members)) {
      throw new StatusError(`${url.href} answered an unexpected shape (no "members")`);
    }
    return { exitCode: 0, output: render(body as MembersReport, options.format ?? 'table') };
  } catch (err) {
    const reason = err instanceof StatusError ? err.message : `unexpected error: ${oneLine(err)}`;
    return { exitCode: 1, output: `flotilla members: ${reason}` };
  }
}

function render(report: MembersReport, format: MembersFormat): string {
  if (format === 'json') return JSON.stringify(report.members, null, 2);
  if (format === 'addresses') return report.members.map((m) => m.address).join('\n');
  return renderMembersTable(report.members, report.master);
}

/** The members as the table `flotilla members` prints (master marked with `*`). */
export function renderMembersTable(members: readonly AdminMember[], master: string | null): string {
  const rows = members.map((m) => [m.nodeId === master ? `${m.nodeId} *` : m.nodeId, m.address, m.state, formatPairs(m.tags)]);
  return renderTable([{ header: 'NODE' }, { header: 'ADDRESS' }, { header: 'STATE' }, { header: 'TAGS' }], rows);
}
