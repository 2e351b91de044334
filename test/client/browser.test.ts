// The client in a real browser: `flotilla/client` bundled for the browser (esbuild, no
// Node built-ins), loaded by headless Chromium from a local page, connects with the
// browser's own WebSocket to three in-process nodes, writes and reads a map. Skips (and
// says so) when no Chromium is installed (.ci/run installs Debian's `chromium`).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { SignJWT } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { serveClients } from '../../src/cli/serve-clients.js';
import type { ClientGateway } from '../../src/gateway/client-gateway.js';
import { CHROMIUM, launchChromium, waitForPage, type Browser } from '../helpers/chromium.js';
import { waitFor } from '../node/helpers.js';
import { startPartitionCluster, stopNodes, tableProblem, type PartitionNode } from '../node/partition-harness.js';

const ENTRY = fileURLToPath(new URL('../../src/client-platform/index.ts', import.meta.url));
const SECRET = 'browser-test-secret-0123456789abcdef01234';

let nodes: PartitionNode[] = [];
const gateways: ClientGateway[] = [];
let server: Server | undefined;
let browser: Browser | undefined;
afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  await Promise.all(gateways.map((g) => g.close()));
  await stopNodes(nodes);
});

/** The page: imports the bundle, runs the scenario, leaves its outcome in `window.outcome`. */
function page(seeds: string[], token: string): string {
  return `<!doctype html><meta charset="utf-8"><script type="module">
import { FlotillaClient, IndexedDbStorageAdapter } from '/client.js';
const until = async (check, what) => {
  const deadline = Date.now() + 20000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 20));
  }
};
window.outcome = (async () => {
  const client = new FlotillaClient({ cluster: { seeds: ${JSON.stringify(seeds)} }, authToken: ${JSON.stringify(token)} });
  const map = client.getMap('browser');
  await map.set('from-chromium', { agent: 'chromium', n: 42 });
  const read = await map.get('from-chromium');
  const stats = client.getClusterStats();
  const out = { read, stats, routing: client.isRoutingActive(), nodes: client.getConnectedNodes().length };
  client.close();
  // Offline: a client whose only node is unreachable keeps its write in IndexedDB...
  const stored = new IndexedDbStorageAdapter('flotilla-browser-test');
  const offline = new FlotillaClient({ serverUrl: 'ws://127.0.0.1:9', authToken: ${JSON.stringify(token)}, storage: stored });
  offline.getMap('browser').set('offline-key', 'made offline').catch(() => undefined);
  await until(async () => (await stored.load()).length === 1, 'the write stored in IndexedDB');
  offline.close();
  await stored.close();
  // ...and the next client on the same database (a reload) sends it.
  const again = new FlotillaClient({ cluster: { seeds: ${JSON.stringify(seeds)} }, authToken: ${JSON.stringify(token)}, storage: new IndexedDbStorageAdapter('flotilla-browser-test') });
  await until(async () => again.pendingWrites() === 0 && (await new IndexedDbStorageAdapter('flotilla-browser-test').load()).length === 0 && again.isRoutingActive(), 'the stored write acknowledged');
  out.offline = await again.getMap('browser').get('offline-key');
  again.close();
  return JSON.stringify(out);
})().catch((e) => JSON.stringify({ error: String(e && e.stack || e) }));
</script>`;
}

describe.skipIf(CHROMIUM === undefined)(`flotilla/client in headless Chromium${CHROMIUM === undefined ? ' (skipped: no chromium installed)' : ''}`, () => {
  it('bundles without Node built-ins, connects with the browser WebSocket, writes and reads, keeps offline writes in IndexedDB', async () => {
    const bundle = await build({ entryPoints: [ENTRY], bundle: true, format: 'esm', platform: 'browser', write: false, logLevel: 'silent' });
    const js = bundle.outputFiles[0]!.text;
    expect(js).not.toMatch(/from\s*["']node:/);

    nodes = await startPartitionCluster(3);
    await waitFor(() => tableProblem(nodes) === undefined, 'one complete table everywhere', 20_000);
    for (const n of nodes) gateways.push(await serveClients(n.node, { auth: { secret: SECRET } }));
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('browser').setExpirationTime('1h').sign(new TextEncoder().encode(SECRET));
    const html = page(gateways.map((g) => g.url), token);
    server = createServer((req, res) => {
      if (req.url === '/client.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
      else res.writeHead(200, { 'content-type': 'text/html' }).end(html);
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const pageUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

    browser = await launchChromium();
    const tab = await browser.open(pageUrl);
    const outcome = await waitForPage<string | undefined>(tab, 'window.outcome', (value) => value !== undefined, 'the scenario in the page', 60_000);
    const result = JSON.parse(outcome!) as { read?: unknown; stats?: { partitionCount: number; mapVersion: number }; routing?: boolean; nodes?: number; offline?: unknown; error?: string };
    expect(result.error).toBeUndefined();
    expect(result.read).toEqual({ agent: 'chromium', n: 42 });
    expect(result.stats?.partitionCount).toBe(271);
    expect(result.stats?.mapVersion).toBeGreaterThanOrEqual(1);
    expect(result.routing).toBe(true);
    expect(await nodes[0]!.node.getMap('browser').get('from-chromium')).toEqual({ agent: 'chromium', n: 42 });
    // The write made offline and kept in IndexedDB reached the cluster through the next client.
    expect(result.offline).toBe('made offline');
    expect(await nodes[2]!.node.getMap('browser').get('offline-key')).toBe('made offline');
  }, 120_000);
});
