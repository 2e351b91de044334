// The dashboard page in headless Chromium against an admin server over the fixture source,
// whose every answer a test chooses: each section renders what the routes say (a
// read-only verdict, an unowned partition and ones whose owner is suspect, migrations in
// flight and finished, entities per type), markup in a tag stays text and runs nothing,
// "Forget token" forgets it, and a node that stops answering is reported while the last
// values stay. Skips (and says so) without Chromium.
import { afterAll, describe, expect, it } from 'vitest';
import { startAdminServer, type AdminServer } from '../../src/gateway/index.js';
import { CHROMIUM, launchChromium, waitForPage, type Browser, type Page } from '../helpers/chromium.js';
import { FixtureEntities, FixtureSource, fixtureMembers, fixturePartitions, fixtureSnapshot } from './fixture.js';
import { TEST_ADMIN_TOKEN } from './http-helpers.js';

const HOSTILE_TAG = '<img src=x onerror="window.pwned=1">';
const SHOW_MS = 20_000;

let browser: Browser | undefined;
let server: AdminServer | undefined;
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

function fixture(): FixtureSource {
  const source = new FixtureSource();
  const members = fixtureMembers();
  source.membersReport = { ...members, members: members.members.map((m) => (m.nodeId === 'n2' ? { ...m, tags: { note: HOSTILE_TAG } } : m)) };
  const table = fixturePartitions();
  source.partitionsReport = { ...table, partitions: table.partitions.map((p) => (p.partition === 0 ? { ...p, owner: null } : p)) };
  source.snapshot = { ...fixtureSnapshot(), quorum: { state: 'partitioned', minority: true, readOnly: true, liveMembers: 1, expectedSize: 3 } };
  source.entities = new FixtureEntities();
  return source;
}

const rowsOf = (selector: string): string => `[...document.querySelectorAll('${selector} tbody tr')].map((r) => [...r.cells].map((c) => c.textContent))`;

const SHOWN = `(() => {
  const text = (id) => document.getElementById(id).textContent;
  return {
    viewShown: !document.getElementById('view').hidden,
    loginShown: !document.getElementById('login').hidden,
    message: document.getElementById('message').hidden ? '' : text('message'),
    health: text('health'),
    quorum: text('quorum'),
    quorumClass: document.getElementById('quorum').className,
    master: text('master'),
    members: ${rowsOf('#members')},
    suspectClass: (document.querySelector('#members tr[data-node="n3"] td.state') || {}).className,
    owners: ${rowsOf('#owners')}.map((r) => r.slice(1)),
    unowned: text('unowned'),
    cells: document.querySelectorAll('#grid .cell').length,
    unownedCells: document.querySelectorAll('#grid .cell.unowned').length,
    orphanCells: document.querySelectorAll('#grid .cell.orphan').length,
    firstOwnedTitle: (document.querySelectorAll('#grid .cell')[1] || {}).title,
    inFlight: ${rowsOf('#in-flight')}.map((r) => r.slice(0, 6)),
    recent: ${rowsOf('#recent')}.map((r) => [...r.slice(0, 7), r[8]]),
    entities: ${rowsOf('#entities')},
    entitiesTotal: text('entities-total'),
    images: document.querySelectorAll('img').length,
    pwned: window.pwned === 1,
    sessionToken: sessionStorage.getItem('flotilla-admin-token'),
  };
})()`;

type Shown = Record<string, unknown> & { viewShown: boolean; loginShown: boolean; message: string; members: string[][] };

function waitShown(page: Page, what: string, check: (s: Shown) => boolean): Promise<Shown> {
  return waitForPage(page, SHOWN, check, what, SHOW_MS);
}

describe.skipIf(CHROMIUM === undefined)(`the dashboard page in headless Chromium${CHROMIUM === undefined ? ' (skipped: no chromium installed)' : ''}`, () => {
  it('renders every section from the routes, as text, and says when the node stops answering', async () => {
    const launching = launchChromium();
    server = await startAdminServer({ token: TEST_ADMIN_TOKEN, source: fixture(), host: '127.0.0.1', port: 0 });
    browser = await launching;
    const page = await browser.open(`http://localhost:${server.address().port}/dashboard`);
    await waitShown(page, 'the token form', (s) => s.loginShown);
    await page.evaluate(`(() => { document.getElementById('token').value = ${JSON.stringify(TEST_ADMIN_TOKEN)}; document.getElementById('login').requestSubmit(); })()`);

    const shown = await waitShown(page, 'the cluster', (s) => s.viewShown && s.members.length === 3);
    expect(shown.message).toBe('');
    expect(shown.health).toBe('ok (running)');
    expect(shown.quorum).toBe('READ-ONLY: this node is in the minority (1 of 3 expected members live) and refuses writes');
    expect(shown.quorumClass).toBe('verdict bad');
    expect(shown.master).toBe('n1');
    expect(shown.members).toEqual([
      ['n1', 'master', '127.0.0.1:7001', 'alive', '1', '11', 'zone=a', '-'],
      ['n2', '', '127.0.0.1:7002', 'alive', '2', '12', `note=${HOSTILE_TAG}`, '3 ms'],
      ['n3', '', '127.0.0.1:7003', 'suspect', '3', '13', '-', '-10012 ms'],
    ]);
    expect(shown.suspectClass).toBe('state state-suspect');
    // The fixture's table (owner p % 3, backup the next node) with partition 0 unowned.
    expect(shown.owners).toEqual([
      ['n1', '90', '90'],
      ['n2', '90', '91'],
      ['n3', '90', '90'],
    ]);
    expect(shown.unowned).toBe('1 without an owner');
    expect(shown.cells).toBe(271);
    expect(shown.unownedCells).toBe(1);
    expect(shown.orphanCells).toBe(90);
    expect(shown.firstOwnedTitle).toBe('partition 1: owner n2, backups n3, epoch 2');
    expect(shown.inFlight).toEqual([['m-7', '7', 'n2', 'n3', 'backup', 'copying']]);
    expect(shown.recent).toEqual([['m-3', '3', 'n1', 'n2', 'owner', 'cancelled', 'destination left', '5000 ms']]);
    expect(shown.entities).toEqual([
      ['Cart', '1'],
      ['Counter', '4'],
      ['Idle', '0'],
    ]);
    expect(shown.entitiesTotal).toBe('5');
    expect(shown.images).toBe(0);
    expect(shown.pwned).toBe(false);

    await page.evaluate(`document.getElementById('logout').click()`);
    const forgotten = await waitShown(page, 'the token forgotten', (s) => s.loginShown && !s.viewShown);
    expect(forgotten.sessionToken).toBeNull();

    await page.evaluate(`(() => { document.getElementById('token').value = ${JSON.stringify(TEST_ADMIN_TOKEN)}; document.getElementById('login').requestSubmit(); })()`);
    await waitShown(page, 'the cluster again', (s) => s.viewShown && s.members.length === 3);
    await server.close();
    const gone = await waitShown(page, 'the node reported unreachable', (s) => s.message.startsWith('The node does not answer'));
    expect(gone.viewShown).toBe(true);
    expect(gone.members).toHaveLength(3);
  }, 60_000);
});
