import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { MembersViewData, MemberRecord } from '../../src/core/model.js';
import {
  KNOWN_ADDRESSES_MAX,
  MEMBERSHIP_RECORD_FILE,
  MembershipRecorder,
  knownAddresses,
  readMembershipRecord,
  rejoinPlan,
  type MembershipRecord,
} from '../../src/node/membership-record.js';
import type { NodeLogger } from '../../src/node/service.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'flotilla-record-'));
  dirs.push(dir);
  return dir;
}

function member(nodeId: string, status: MemberRecord['status'] = 'active'): MemberRecord {
  return { nodeId, address: `10.0.0.${nodeId.length}:${7000 + nodeId.charCodeAt(0)}`, joinVersion: 1, status, incarnation: 1, tags: {} };
}

const view = (...members: MemberRecord[]): MembersViewData => ({ version: members.length, members });

const warnings: unknown[] = [];
const log = { warn: (o: unknown) => warnings.push(o), info: () => undefined, debug: () => undefined, error: () => undefined, child: () => log } as unknown as NodeLogger;

describe('knownAddresses', () => {
  it('keeps the others, not this node, not the dead, in view order', () => {
    expect(knownAddresses(view(member('a'), member('self'), member('b', 'dead'), member('c', 'suspect')), 'self')).toEqual([member('a').address, member('c').address]);
  });

  it(`keeps at most ${KNOWN_ADDRESSES_MAX}`, () => {
    const many = Array.from({ length: 100 }, (_, i): MemberRecord => ({ ...member('n'), nodeId: `n${i}`, address: `10.0.1.${i}:7946` }));
    expect(knownAddresses(view(...many), 'self')).toHaveLength(KNOWN_ADDRESSES_MAX);
  });
});

describe('rejoinPlan', () => {
  const record = (addresses: string[], clusterId = 'c1'): MembershipRecord => ({ format: 1, clusterId, nodeId: 'self', addresses, savedAt: 0 });
  const cases: [string, MembershipRecord | undefined, boolean, { seeds: string[]; formAllowed: boolean }][] = [
    ['no record: the configured seeds, may form', undefined, false, { seeds: ['s:1'], formAllowed: true }],
    ['a member with peers: seeds plus peers, never forms', record(['p:1', 's:1']), false, { seeds: ['s:1', 'p:1'], formAllowed: false }],
    ['a member that was alone: may form again', record([]), false, { seeds: ['s:1'], formAllowed: true }],
    ['another cluster id: record ignored', record(['p:1'], 'other'), false, { seeds: ['s:1'], formAllowed: true }],
    ['forceForm: record ignored', record(['p:1']), true, { seeds: ['s:1'], formAllowed: true }],
  ];
  it.each(cases)('%s', (_, rec, force, expected) => {
    expect(rejoinPlan(rec, ['s:1'], 'c1', force)).toMatchObject(expected);
  });
});

describe('MembershipRecorder and readMembershipRecord', () => {
  it('writes the latest view atomically and reads it back', async () => {
    const dir = await dataDir();
    expect(await readMembershipRecord(dir)).toBeUndefined();
    const recorder = new MembershipRecorder(dir, 'c1', 'self', log, () => 1234);
    recorder.noteView(view(member('self'), member('a')));
    recorder.noteView(view(member('self'), member('a'), member('bb')));
    await recorder.flush();
    const record = await readMembershipRecord(dir);
    expect(record).toEqual({ format: 1, clusterId: 'c1', nodeId: 'self', addresses: [member('a').address, member('bb').address], savedAt: 1234 });
    // No temporary file is left behind.
    expect(await readdir(dir)).toEqual([MEMBERSHIP_RECORD_FILE]);
  });

  it('skips a write when the peer addresses did not change', async () => {
    const dir = await dataDir();
    let now = 1;
    const recorder = new MembershipRecorder(dir, 'c1', 'self', log, () => now);
    recorder.noteView(view(member('self'), member('a')));
    await recorder.flush();
    now = 2;
    recorder.noteView(view(member('a'), member('self')));
    await recorder.flush();
    expect((await readMembershipRecord(dir))?.savedAt).toBe(1);
  });

  it('logs a failed write and does not throw', async () => {
    const dir = join(await dataDir(), 'missing');
    const recorder = new MembershipRecorder(dir, 'c1', 'self', log, () => 1);
    warnings.length = 0;
    recorder.noteView(view(member('self'), member('a')));
    await recorder.flush();
    expect(warnings).toHaveLength(1);
  });

  const bad: [string, string][] = [
    ['not JSON', '{"format":1,'],
    ['not an object', '42'],
    ['another format', JSON.stringify({ format: 2, clusterId: 'c', nodeId: 'n', addresses: [] })],
    ['missing ids', JSON.stringify({ format: 1, addresses: [] })],
    ['a bad address', JSON.stringify({ format: 1, clusterId: 'c', nodeId: 'n', addresses: ['nope'] })],
    ['too many addresses', JSON.stringify({ format: 1, clusterId: 'c', nodeId: 'n', addresses: Array.from({ length: 40 }, (_, i) => `h:${i + 1}`) })],
    ['too large', `{"pad":"${'x'.repeat(70_000)}"}`],
  ];
  it.each(bad)('refuses a record that is %s with FLO_CONFIG_INVALID', async (_, text) => {
    const dir = await dataDir();
    await writeFile(join(dir, MEMBERSHIP_RECORD_FILE), text);
    await expect(readMembershipRecord(dir)).rejects.toMatchObject({ code: 'FLO_CONFIG_INVALID' });
    expect(await readFile(join(dir, MEMBERSHIP_RECORD_FILE), 'utf8')).toBe(text);
  });
});
