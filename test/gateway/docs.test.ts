// docs/admin-api.md stays in step with the code: every route and every exported metric
// has its section or table row, and the metrics table names nothing the server lacks.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ADMIN_ROUTES, HISTOGRAM_SPECS, METRIC_SPECS } from '../../src/gateway/index.js';
import { KV_ROUTES } from '../../src/gateway/kv-routes.js';

const doc = readFileSync(new URL('../../docs/admin-api.md', import.meta.url), 'utf8');
const EVENT_LOOP = ['', '_min', '_max', '_p50', '_p90', '_p99'].map((s) => `flotilla_eventloop_lag${s}_seconds`);

describe('docs/admin-api.md', () => {
  it.each(ADMIN_ROUTES.map((r) => r.path))('has a section for GET %s', (path) => {
    expect(doc).toContain(`## \`GET ${path}\``);
  });

  it.each(KV_ROUTES.map((r) => `${r.method} ${r.path}`))('has a section for %s', (route) => {
    expect(doc).toContain(`## \`${route}\``);
  });

  it('lists every metric with its type, and only those', () => {
    const rows = [...doc.matchAll(/^\| `(flotilla_[a-z0-9_]+)` \| (counter|gauge|histogram) \|/gm)].map((m) => [m[1]!, m[2]!] as const);
    const expected = [
      ...METRIC_SPECS.map((s) => [s.name, s.kind] as const),
      ...HISTOGRAM_SPECS.map((s) => [s.name, 'histogram'] as const),
      ...EVENT_LOOP.map((n) => [n, 'gauge'] as const),
    ];
    expect(new Map(rows)).toEqual(new Map(expected));
    expect(rows).toHaveLength(expected.length);
  });
});
