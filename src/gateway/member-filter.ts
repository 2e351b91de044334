/**
 * The member filter of `GET /cluster/members`: `tag=key=value` (repeatable, every pair
 * must match) and `state=alive|suspect|dead|left`, so an operator or a script outside the
 * program can discover nodes by role the way `nodesWithAllTags` does inside it.
 */
import { FlotillaError } from '../core/errors.js';
import type { AdminMember, AdminMemberState } from './admin-source.js';
import { singleParam } from './route-kit.js';

/** Most `tag` parameters one query may give. */
export const MEMBER_TAG_FILTERS_MAX = 16;

const STATES: readonly AdminMemberState[] = ['alive', 'suspect', 'dead', 'left'];

/** What a member must match: every tag pair, and the state when given. */
export interface MemberFilter {
  readonly tags: Readonly<Record<string, string>>;
  readonly state: AdminMemberState | undefined;
}

function invalid(parameter: string, why: string): FlotillaError {
  return new FlotillaError('FLO_INVALID_ARGUMENT', `query parameter "${parameter}": ${why}`, { parameter });
}

/** Parses `tag` and `state` from `query`; throws FLO_INVALID_ARGUMENT for a malformed one. */
export function parseMemberFilter(query: URLSearchParams): MemberFilter {
  const raw = query.getAll('tag');
  if (raw.length > MEMBER_TAG_FILTERS_MAX) throw invalid('tag', `at most ${MEMBER_TAG_FILTERS_MAX} given`);
  const tags: Record<string, string> = {};
  for (const pair of raw) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw invalid('tag', `expected key=value, got ${JSON.stringify(pair)}`);
    const key = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    if (key in tags && tags[key] !== value) throw invalid('tag', `tag ${JSON.stringify(key)} given with two values`);
    tags[key] = value;
  }
  const state = singleParam(query, 'state');
  if (state !== undefined && !STATES.includes(state as AdminMemberState)) throw invalid('state', `expected one of ${STATES.join(', ')}, got ${JSON.stringify(state)}`);
  return { tags, state: state as AdminMemberState | undefined };
}

/** True when `member` carries every tag of the filter (and is in its state, when given). */
export function memberMatches(member: AdminMember, filter: MemberFilter): boolean {
  if (filter.state !== undefined && member.state !== filter.state) return false;
  for (const [key, value] of Object.entries(filter.tags)) if (member.tags[key] !== value) return false;
  return true;
}
