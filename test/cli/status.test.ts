// `flotilla status` against a real admin server backed by the gateway's fixture source:
// tables with the master, per-node partition counts and the node's active entities per
// type (only when it hosts entities), --json as one parseable object,
// and every failure as one line with exit code 1. Also the table helpers it renders with.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { formatPairs, renderTable } from '../../src/cli/format.js';
import { countByNode, runStatus } from '../../src/cli/status.js';
import { startAdminServer, type AdminServer } from '../../src/gateway/index.js';
import { FixtureEntities, FixtureSource, fixtureHealth, fixtureMembers, fixtureMigrations } from '../gateway/fixture.js';
import { TEST_ADMIN_TOKEN } from '../gateway/http-helpers.js';

const source = new FixtureSource();
let server: AdminServer;
let url: string;

beforeAll(async () => {
  server = await startAdminServer({ token: TEST_ADMIN_TOKEN, source, port: 0 });
  url = `http://127.0.0.1:${server.address().port}`;
});

afterAll(async () => {
  await server.close();
});

beforeEach(() => {
  source.healthReport = fixtureHealth();
  source.membersReport = fixtureMembers();
  source.migrationsReport = fixtureMigrations();
  source.failing = undefined;
  source.entities = undefined;
});

function expectOneLineFailure(result: { exitCode: number; output: string }, contains: string): void {
  expect(result.exitCode).toBe(1);
  expect(result.output).not.toContain('\n');
  expect(result.output).toMatch(/^flotilla status: /);
  expect(result.output).toContain(contains);
  expect(result.output).not.toMatch(/\s+at\s+\S+\s+\(/);
}

describe('runStatus tables', () => {
  it('shows health, members with the master marked, per-node partition counts and migrations', async () => {
    const { exitCode, output } = await runStatus({ token: TEST_ADMIN_TOKEN, url });
    expect(exitCode).toBe(0);
    expect(output).toContain('Node n1: ok (state running)');
    expect(output).toContain('Checks: storage=healthy');
    expect(output).toContain('Members (view version 4, master n1; * = master)');
    expect(output).toMatch(/^n1 \*\s+127\.0\.0\.1:7001\s+alive\s+11\s+1\s+zone=a$/m);
    expect(output).toMatch(/^n2\s+127\.0\.0\.1:7002\s+alive\s+12\s+2\s+role=web,zone=b$/m);
    expect(output).toMatch(/^n3\s+127\.0\.0\.1:7003\s+suspect\s+13\s+3\s+-$/m);
    expect(output).toContain('Partitions (table version 9, 271 partitions)');
    expect(output).toMatch(/^n1\s+91\s+90$/m);
    expect(output).toMatch(/^n2\s+90\s+91$/m);
    expect(output).toMatch(/^n3\s+90\s+90$/m);
    expect(output).toContain('Migrations in flight: 1');
    expect(output).toMatch(/^m-7\s+7\s+n2\s+n3\s+backup\s+copying\s+2023-11-14T22:13:20\.000Z$/m);
  });

  it('says when no migration is in flight and when the master is unknown', async () => {
    source.migrationsReport = { inFlight: [], recent: [] };
    source.membersReport = { ...fixtureMembers(), master: null };
    const { output } = await runStatus({ token: TEST_ADMIN_TOKEN, url });
    expect(output).toContain('Migrations in flight: none');
    expect(output).toContain('master unknown');
    expect(output).not.toMatch(/^n1 \*/m);
  });

  it('still reports a node that is not serving, with exit code 2', async () => {
    source.healthReport = { status: 'joining', nodeId: 'n1', state: 'joining', checks: {} };
    const { exitCode, output } = await runStatus({ token: TEST_ADMIN_TOKEN, url });
    expect(exitCode).toBe(2);
    expect(output).toContain('Node n1: joining (state joining)');
  });
});

describe('runStatus entities', () => {
  it('adds the node\'s active entities per type, registered types at 0', async () => {
    source.entities = new FixtureEntities();
    const { exitCode, output } = await runStatus({ token: TEST_ADMIN_TOKEN, url });
    expect(exitCode).toBe(0);
    expect(output).toMatch(/\n\nEntities active on n1: 5\nTYPE\s+ACTIVE\nCart\s+1\nCounter\s+4\nIdle\s+0$/);
  });

  it('leaves the section out when the node hosts no entity types or has no /entities', async () => {
    expect((await runStatus({ token: TEST_ADMIN_TOKEN, url })).output).not.toContain('Entities');
    const none = new FixtureEntities();
    none.registered = [];
    none.held = [];
    source.entities = none;
    const { exitCode, output } = await runStatus({ token: TEST_ADMIN_TOKEN, url });
    expect(exitCode).toBe(0);
    expect(output).not.toContain('Entities');
  });

  it('puts the /entities counts in --json, without listing entities', async () => {
    source.entities = new FixtureEntities();
    const parsed = JSON.parse((await runStatus({ token: TEST_ADMIN_TOKEN, url, json: true })).output) as { entities: unknown };
    expect(parsed.entities).toEqual({
      nodeId: 'n1',
      active: 5,
      types: [
        { type: 'Cart', active: 1 },
        { type: 'Counter', active: 4 },
        { type: 'Idle', active: 0 },
      ],
      entities: [],
      truncated: true,
    });
  });

  it('reports an /entities error answer like any other', async () => {
    source.entities = { types: () => [], active: () => { throw new Error('boom'); } };
    expectOneLineFailure(await runStatus({ token: TEST_ADMIN_TOKEN, url }), '/entities?limit=0 answered 500 FLO_INTERNAL');
  });
});

describe('runStatus --json', () => {
  it('prints one JSON object with every section and the per-node counts', async () => {
    const { exitCode, output } = await runStatus({ token: TEST_ADMIN_TOKEN, url, json: true });
    expect(exitCode).toBe(0);
    const parsed = JSON.parse(output) as Record<string, unknown>;
    expect(Object.keys(parsed).sort()).toEqual(['health', 'members', 'migrations', 'partitions', 'partitionsByNode', 'serving', 'url']);
    expect(parsed.url).toBe(`${url}/`);
    expect(parsed.serving).toBe(true);
    expect(parsed.health).toEqual(fixtureHealth());
    expect(parsed.members).toEqual(fixtureMembers());
    expect(parsed.migrations).toEqual(fixtureMigrations());
    expect(parsed.partitionsByNode).toEqual({ n1: { owned: 91, backups: 90 }, n2: { owned: 90, backups: 91 }, n3: { owned: 90, backups: 90 } });
    expect((parsed.partitions as { partitions: unknown[] }).partitions).toHaveLength(271);
  });
});

describe('runStatus failures', () => {
  it('sends the admin token; without it (or with another) the node refuses and status says how to give one', async () => {
    expectOneLineFailure(await runStatus({ url }), 'answered 401 FLO_UNAUTHORIZED');
    const wrong = await runStatus({ url, token: 'not-the-token-0123456789-abcdefghijklmnop' });
    expectOneLineFailure(wrong, 'answered 401 FLO_UNAUTHORIZED');
    expect(wrong.output).toMatch(/--token or FLOTILLA_ADMIN_TOKEN/);
  });

  it('reports an unreachable URL in one line with exit code 1', async () => {
    const gone = await startAdminServer({ token: TEST_ADMIN_TOKEN, source, port: 0 });
    const port = gone.address().port;
    await gone.close();
    expectOneLineFailure(await runStatus({ token: TEST_ADMIN_TOKEN, url: `http://127.0.0.1:${port}` }), 'ECONNREFUSED');
  });

  it.each(['not a url', 'ftp://127.0.0.1/'])('reports the bad URL %j in one line', async (bad) => {
    expectOneLineFailure(await runStatus({ token: TEST_ADMIN_TOKEN, url: bad }), 'URL');
  });

  it('reports an error answer with its code', async () => {
    source.failing = { method: 'members', error: new Error('boom') };
    expectOneLineFailure(await runStatus({ token: TEST_ADMIN_TOKEN, url }), '500 FLO_INTERNAL: Internal error');
  });

  it('reports a node that does not answer in time', async () => {
    const silent: typeof fetch = (_input, init) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason as Error));
      });
    expectOneLineFailure(await runStatus({ token: TEST_ADMIN_TOKEN, url, fetch: silent, timeoutMs: 20 }), 'no answer within 20 ms');
  });

  it('reports a body that is not JSON', async () => {
    const html: typeof fetch = () => Promise.resolve(new Response('<html>oops</html>', { status: 200 }));
    expectOneLineFailure(await runStatus({ token: TEST_ADMIN_TOKEN, url, fetch: html }), 'not JSON');
  });

  it('reports a JSON body of the wrong shape', async () => {
    const wrong: typeof fetch = () => Promise.resolve(new Response('{"hello":1}', { status: 200 }));
    expectOneLineFailure(await runStatus({ token: TEST_ADMIN_TOKEN, url, fetch: wrong }), 'unexpected shape');
  });
});

describe('runStatus URLs', () => {
  it('keeps a path prefix and drops query and fragment', async () => {
    const seen: string[] = [];
    const recording: typeof fetch = (input, init) => {
      seen.push(String(input));
      return fetch(`${url}${new URL(String(input)).pathname.replace(/^\/admin/, '')}`, init);
    };
    const { exitCode } = await runStatus({ token: TEST_ADMIN_TOKEN, url: 'http://proxy.invalid/admin?x=1#y', fetch: recording });
    expect(exitCode).toBe(0);
    expect(seen.sort()).toEqual([
      'http://proxy.invalid/admin/cluster/members',
      'http://proxy.invalid/admin/cluster/migrations',
      'http://proxy.invalid/admin/cluster/partitions',
      'http://proxy.invalid/admin/entities?limit=0',
      'http://proxy.invalid/admin/health',
    ]);
  });
});

describe('countByNode', () => {
  it('counts owners and backups, skipping missing owners, sorted by node', () => {
    expect(
      countByNode([
        { partition: 0, owner: 'b', backups: ['a', 'c'], epoch: 1 },
        { partition: 1, owner: null, backups: ['a'], epoch: 0 },
        { partition: 2, owner: 'a', backups: [], epoch: 2 },
      ]),
    ).toEqual({ a: { owned: 1, backups: 2 }, b: { owned: 1, backups: 0 }, c: { owned: 0, backups: 1 } });
  });
});

describe('renderTable', () => {
  it.each([
    {
      name: 'pads every column to its widest cell and trims trailing spaces',
      columns: [{ header: 'A' }, { header: 'LONG' }],
      rows: [['wide-cell', 'x'], ['y', '']],
      expected: 'A          LONG\nwide-cell  x\ny',
    },
    {
      name: 'right-aligns numbers',
      columns: [{ header: 'NODE' }, { header: 'N', align: 'right' as const }],
      rows: [['a', '5'], ['b', '123']],
      expected: 'NODE    N\na       5\nb     123',
    },
    {
      name: 'leaves missing cells blank',
      columns: [{ header: 'X' }, { header: 'Y' }, { header: 'Z' }],
      rows: [['1'], ['1', '2', '3']],
      expected: 'X  Y  Z\n1\n1  2  3',
    },
    {
      name: 'counts code points, not UTF-16 units',
      columns: [{ header: 'T' }, { header: 'U' }],
      rows: [['𝔸𝔸', 'x']],
      expected: 'T   U\n𝔸𝔸  x',
    },
    { name: 'renders a header alone when there are no rows', columns: [{ header: 'ONLY' }], rows: [], expected: 'ONLY' },
  ])('$name', ({ columns, rows, expected }) => {
    expect(renderTable(columns, rows)).toBe(expected);
  });

  it.each([
    [{}, '-'],
    [{ zone: 'a' }, 'zone=a'],
    [{ zone: 'a', role: 'web' }, 'role=web,zone=a'],
  ])('formatPairs(%j) is %j', (pairs, expected) => {
    expect(formatPairs(pairs)).toBe(expected);
  });
});
