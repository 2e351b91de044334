/**
 * The `flotilla members` command line: turns its flags into `runMembers` options (a
 * malformed tag is a usage error, exit 2) and prints the result on stdout or stderr.
 */
import type { AdminMemberState } from '../gateway/admin-source.js';
import { parseTagList, UsageError, USAGE_EXIT_CODE } from './cli-options.js';
import { CaFileError, fetchForCaFlag } from './admin-fetch.js';
import { runMembers, type MembersFormat } from './members.js';

/** The flags of `flotilla members`, as commander parses them. */
export interface MembersFlags {
  readonly url: string;
  readonly tag?: readonly string[];
  readonly state?: AdminMemberState;
  readonly json?: boolean;
  readonly addresses?: boolean;
  readonly token?: string;
  readonly ca?: string;
}

/** Every `--tag` value (each `k=v` or `k=v,k2=v2`) merged; a key given twice with two values is a usage error. */
export function mergeTagFlags(values: readonly string[]): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const value of values) {
    for (const [key, v] of Object.entries(parseTagList(value, '--tag'))) {
      if (key in tags && tags[key] !== v) throw new UsageError(`--tag: tag ${JSON.stringify(key)} given with two values`);
      tags[key] = v;
    }
  }
  return tags;
}

/** Runs `flotilla members`; resolves with the exit status. */
export async function runMembersCommand(flags: MembersFlags, devToken: string): Promise<number> {
  let tags: Record<string, string>;
  let fetch: typeof globalThis.fetch | undefined;
  try {
    if (flags.json === true && flags.addresses === true) throw new UsageError('--json and --addresses exclude each other');
    tags = mergeTagFlags(flags.tag ?? []);
    fetch = fetchForCaFlag(flags.ca);
  } catch (err) {
    if (!(err instanceof UsageError) && !(err instanceof CaFileError)) throw err;
    process.stderr.write(`flotilla members: ${err.message}\n`);
    return USAGE_EXIT_CODE;
  }
  const format: MembersFormat = flags.json === true ? 'json' : flags.addresses === true ? 'addresses' : 'table';
  const token = flags.token === undefined || flags.token === '' ? devToken : flags.token;
  const result = await runMembers({ url: flags.url, tags, ...(flags.state === undefined ? {} : { state: flags.state }), format, token, ...(fetch === undefined ? {} : { fetch }) });
  if (result.output !== '') (result.exitCode === 0 ? process.stdout : process.stderr).write(`${result.output}\n`);
  return result.exitCode;
}
