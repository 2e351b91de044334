// The dashboard in a real browser against real `flotilla start` processes: headless
// Chromium opens n1's /dashboard, is refused with a wrong token (and says so), then, with
// the right one, shows every member and the 271 partitions; a tag carrying markup stays
// text; the token lives in sessionStorage only. Then n3 is killed with SIGKILL and the
// page, still polling, shows it as no longer alive. Skips (and says so) without Chromium.
import { afterAll, describe, expect, it } from 'vitest';
import { freeClusterPort } from '../../src/cli/dev-command.js';
import { CHROMIUM, launchChromium, waitForPage, type Browser, type Page } from '../helpers/chromium.js';
import { PROCESS_ADMIN_TOKEN, adminUrlOf, pollUntil, randomSecret, startNodeProcess, type NodeProcess } from './cli-process.js';

const NAMES = ['n1', 'n2', 'n3'] as const;
/** A tag value a careless page would turn into an element. */
const MARKUP_TAG = '<b id=injected>bold</b>';
/** Deadlines for what the page must show; generous for a loaded machine, the test usually takes far less. */
const START_MS = 30_000;
const SHOW_MS = 20_000;

const nodes: NodeProcess[] = [];
let browser: Browser | undefined;

afterAll(async () => {
  await browser?.close();
  for (const n of nodes) n.proc.child.kill('SIGKILL');
});

/** What the page shows, read from its DOM. */
interface Shown {
  readonly loginShown: boolean;
  readonly message: string;
  readonly members: { node: string; state: string; tags: string }[];
  readonly quorum: string;
  readonly partitionCount: string;
  readonly unowned: string;
  readonly gridCells: number;
  readonly gridDisplay: string;
  readonly injected: boolean;
  readonly sessionToken: string | null;
  readonly localItems: number;
  readonly href: string;
}

const SHOWN = `(() => {
  const text = (id) => document.getElementById(id).textContent;
  return {
    loginShown: !document.getElementById('login').hidden,
    message: document.getElementById('message').hidden ? '' : text('message'),
    members: [...document.querySelectorAll('#members tbody tr')].map((r) => ({ node: r.cells[0].textContent, state: r.cells[3] ? r.cells[3].textContent : '', tags: r.cells[6] ? r.cells[6].textContent : '' })),
    quorum: text('quorum'),
    partitionCount: text('partition-count'),
    unowned: text('unowned'),
    gridCells: document.getElementById('grid').children.length,
    gridDisplay: getComputedStyle(document.getElementById('grid')).display,
    injected: document.getElementById('injected') !== null,
    sessionToken: sessionStorage.getItem('flotilla-admin-token'),
    localItems: localStorage.length,
    href: location.href,
  };
})()`;

function typeToken(page: Page, token: string): Promise<void> {
  return page.evaluate(`(() => {
    document.getElementById('token').value = ${JSON.stringify(token)};
    document.getElementById('login').requestSubmit();
  })()`);
}

function waitShown(page: Page, what: string, check: (s: Shown) => boolean): Promise<Shown> {
  return waitForPage(page, SHOWN, check, what, SHOW_MS);
}

describe.skipIf(CHROMIUM === undefined)(`the dashboard in headless Chromium${CHROMIUM === undefined ? ' (skipped: no chromium installed)' : ''}`, () => {
  it('asks for the token, shows members and partitions live, and a killed member as not alive', async () => {
    const startedAt = Date.now();
    const launching = launchChromium();
    const secret = randomSecret();
    const addresses = await Promise.all(NAMES.map(async () => `127.0.0.1:${await freeClusterPort('127.0.0.1')}`));
    for (const [i, name] of NAMES.entries()) {
      const extraArgs = name === 'n2' ? ['--tags', `note=${MARKUP_TAG}`] : [];
      nodes.push(startNodeProcess({ name, address: addresses[i]!, seed: addresses[0]!, secret, extraArgs }));
    }
    browser = await launching;
    let url: string | undefined;
    await pollUntil(() => (url = adminUrlOf(nodes[0]!)) !== undefined, "n1's admin API", START_MS, () => nodes[0]!.proc.stderr.join('\n'));

    const page = await browser.open(`${url}/dashboard`);
    await waitShown(page, 'the token form', (s) => s.loginShown);

    await typeToken(page, 'not-the-admin-token-0123456789-abcdefghij');
    const refused = await waitShown(page, 'the 401 message', (s) => s.message.includes('401'));
    expect(refused.loginShown).toBe(true);
    expect(refused.members).toEqual([]);
    expect(refused.sessionToken).toBeNull();

    await typeToken(page, PROCESS_ADMIN_TOKEN);
    const settled = await waitShown(
      page,
      'every member alive and 271 partitions, all owned',
      (s) => NAMES.every((n) => s.members.some((m) => m.node === n && m.state === 'alive')) && s.partitionCount === '271' && s.unowned === 'every partition has an owner',
    );
    const shownAt = Date.now();
    expect(settled.loginShown).toBe(false);
    expect(settled.message).toBe('');
    expect(settled.gridCells).toBe(271);
    expect(settled.quorum).toBe('healthy (3 of 3 expected members live)');
    // The stylesheet ran under the page's CSP (its hash matched): the grid is laid out as one.
    expect(settled.gridDisplay).toBe('grid');
    // A tag from the network is shown as the text it is, never parsed as markup.
    expect(settled.members.find((m) => m.node === 'n2')?.tags).toBe(`note=${MARKUP_TAG}`);
    expect(settled.injected).toBe(false);
    expect(settled.sessionToken).toBe(PROCESS_ADMIN_TOKEN);
    expect(settled.localItems).toBe(0);
    expect(settled.href).not.toContain(PROCESS_ADMIN_TOKEN);

    nodes[2]!.proc.child.kill('SIGKILL');
    const killedAt = Date.now();
    const after = await waitShown(page, 'n3 shown as not alive', (s) => s.members.some((m) => m.node === 'n3' && m.state !== 'alive'));
    expect(after.message).toBe('');
    // Two of three is still a majority: the page shows the node writable.
    expect(after.quorum).toMatch(/^healthy \(/);
    process.stderr.write(
      `dashboard-browser: page showed the settled cluster ${shownAt - startedAt} ms after launch; n3 not alive (${after.members.find((m) => m.node === 'n3')?.state}) ${Date.now() - killedAt} ms after SIGKILL\n`,
    );
  }, 60_000);
});
