// GET /dashboard on a real admin server: one HTML page without the token, with a strict
// Content-Security-Policy whose hashes match the page's only inline style and script,
// nosniff and no-store; the same bytes whatever the node holds (no data, no secret); still
// behind the Host and Origin checks; and a script with no HTML sink and no lasting storage.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminServer, type AdminServer } from '../../src/gateway/index.js';
import { FixtureSource, fixtureMembers } from './fixture.js';
import { TEST_ADMIN_TOKEN, request, type HttpAnswer } from './http-helpers.js';

const source = new FixtureSource();
let server: AdminServer;
let port: number;

beforeAll(async () => {
  server = await startAdminServer({ token: TEST_ADMIN_TOKEN, source, host: '127.0.0.1', port: 0 });
  port = server.address().port;
});

afterAll(async () => {
  await server.close();
});

const anonymous = { authorization: null };

function directives(answer: HttpAnswer): Map<string, string[]> {
  const csp = String(answer.headers['content-security-policy']);
  return new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name!, values]));
}

function only(body: string, tag: string): string {
  const found = [...body.matchAll(new RegExp(`<${tag}(\\s[^>]*)?>([\\s\\S]*?)</${tag}>`, 'g'))];
  expect(found, tag).toHaveLength(1);
  expect(found[0]![1], `${tag} attributes`).toBeUndefined();
  return found[0]![2]!;
}

function hashSource(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

describe('GET /dashboard', () => {
  it('answers HTML without the token, with a strict CSP, nosniff and no-store', async () => {
    const answer = await request(port, '/dashboard', { headers: anonymous });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(answer.headers['x-content-type-options']).toBe('nosniff');
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(answer.headers['x-frame-options']).toBe('DENY');
    expect(answer.headers['referrer-policy']).toBe('no-referrer');
    expect(answer.headers['www-authenticate']).toBeUndefined();
    const csp = directives(answer);
    expect(csp.get('default-src')).toEqual(["'none'"]);
    expect(csp.get('connect-src')).toEqual(["'self'"]);
    expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
    expect(csp.get('base-uri')).toEqual(["'none'"]);
    expect(csp.get('form-action')).toEqual(["'none'"]);
    // The one inline script and the one inline style are allowed by their hashes, and nothing else is.
    expect(csp.get('script-src')).toEqual([hashSource(only(answer.body, 'script'))]);
    expect(csp.get('style-src')).toEqual([hashSource(only(answer.body, 'style'))]);
    expect(String(answer.headers['content-security-policy'])).not.toMatch(/unsafe|\*|https?:/);
  });

  it('loads nothing from elsewhere and writes no data as markup', async () => {
    const { body } = await request(port, '/dashboard', { headers: anonymous });
    expect(body).toMatch(/^<!doctype html>/);
    expect(body).not.toMatch(/<(link|img|iframe|object|embed|base)\b|\bsrc=|\bhref=|https?:\/\/|\sstyle=|\son[a-z]+=/i);
    const script = only(body, 'script');
    expect(script).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\b|Function\(|localStorage|location|setAttribute/);
    expect(script).toContain('sessionStorage');
    expect(script).toContain('textContent');
    expect(script).toContain("'Bearer '");
  });

  it('holds no data and no secret: the same bytes whatever the node holds', async () => {
    const before = (await request(port, '/dashboard', { headers: anonymous })).body;
    const members = fixtureMembers();
    source.membersReport = { ...members, members: members.members.map((m) => ({ ...m, nodeId: `${m.nodeId}-renamed` })) };
    try {
      const after = (await request(port, '/dashboard')).body;
      expect(after).toBe(before);
      expect(after).not.toContain(TEST_ADMIN_TOKEN);
      expect(after).not.toContain('127.0.0.1:7001');
      expect(after).not.toContain('-renamed');
    } finally {
      source.membersReport = fixtureMembers();
    }
  });

  it('answers HEAD with the same headers and no body', async () => {
    const get = await request(port, '/dashboard', { headers: anonymous });
    const head = await request(port, '/dashboard', { method: 'HEAD', headers: anonymous });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers['content-security-policy']).toBe(get.headers['content-security-policy']);
    expect(head.headers['content-type']).toBe(get.headers['content-type']);
  });

  it('stays behind the Host and Origin checks, and takes no query or other method', async () => {
    const rebound = await request(port, '/dashboard', { headers: { ...anonymous, host: 'attacker.example' } });
    expect(rebound.status).toBe(403);
    expect(JSON.parse(rebound.body)).toMatchObject({ code: 'FLO_FORBIDDEN' });
    expect((await request(port, '/dashboard', { headers: { ...anonymous, 'sec-fetch-site': 'cross-site' } })).status).toBe(403);
    expect((await request(port, '/dashboard', { headers: { ...anonymous, origin: 'http://attacker.example' } })).status).toBe(403);
    // A page served from this very origin may fetch it, as the dashboard's own script does.
    expect((await request(port, '/dashboard', { headers: { ...anonymous, origin: `http://127.0.0.1:${port}`, 'sec-fetch-site': 'same-origin' } })).status).toBe(200);
    const query = await request(port, '/dashboard?token=x', { headers: anonymous });
    expect(query.status).toBe(400);
    expect(JSON.parse(query.body)).toMatchObject({ code: 'FLO_INVALID_ARGUMENT' });
    const post = await request(port, '/dashboard', { method: 'POST', headers: anonymous });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });

  it('opens only the page: the routes it polls still need the token', async () => {
    for (const path of ['/cluster/quorum', '/cluster/members', '/dashboard/', '/dashboard/x']) {
      expect((await request(port, path, { headers: anonymous })).status, path).toBe(401);
    }
  });
});
