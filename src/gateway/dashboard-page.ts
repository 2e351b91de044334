/**
 * `GET /dashboard`: one self-contained HTML page (inline style and script, nothing
 * fetched from elsewhere) that shows the node's view of the cluster live by polling the
 * admin API's JSON routes with the token the operator types. The page holds no data and
 * no secret, the same bytes for everyone, so it is served without the token; a strict
 * Content-Security-Policy allows only its own style and script (by hash) and requests
 * to this origin.
 */
import { createHash } from 'node:crypto';
import { DASHBOARD_SCRIPT } from './dashboard-script.js';
import type { AdminRoute, RouteResponse } from './route-kit.js';

/** Where the page is served; open without the admin token, like `/health`. */
export const DASHBOARD_PATH = '/dashboard';

const STYLE = `
:root { color-scheme: light dark; --fg: #1d2329; --bg: #f7f8fa; --card: #fff; --line: #d9dde3; --muted: #5f6b77; --good: #2e7d32; --warn: #b26a00; --bad: #c62828; }
@media (prefers-color-scheme: dark) { :root { --fg: #e3e7eb; --bg: #15191d; --card: #1e2328; --line: #343b43; --muted: #9aa5b1; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; gap: 1rem; align-items: baseline; flex-wrap: wrap; padding: .75rem 1.25rem; border-bottom: 1px solid var(--line); background: var(--card); }
header h1 { font-size: 1.2rem; margin: 0; }
header .muted { color: var(--muted); }
form, .message { margin: 1rem 1.25rem; }
form label { margin-right: .5rem; }
input[type=password] { width: 24rem; max-width: 100%; padding: .3rem .4rem; font: inherit; }
button { font: inherit; padding: .3rem .8rem; }
.message { padding: .6rem .8rem; border-radius: 4px; border: 1px solid var(--line); background: var(--card); }
.message.bad { border-color: var(--bad); color: var(--bad); font-weight: 600; }
.message.warn { border-color: var(--warn); color: var(--warn); }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(28rem, 1fr)); gap: 1rem; padding: 0 1.25rem 1.25rem; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .75rem 1rem; overflow-x: auto; }
section.wide { grid-column: 1 / -1; }
h2 { font-size: 1rem; margin: 0 0 .5rem; }
h3 { font-size: .9rem; margin: .75rem 0 .25rem; color: var(--muted); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .2rem .6rem .2rem 0; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { color: var(--muted); font-weight: 600; }
.verdict { font-weight: 600; }
.good, .state-alive { color: var(--good); }
.warn, .state-suspect { color: var(--warn); }
.bad, .state-dead, .state-left, .state-other { color: var(--bad); }
#grid { display: grid; grid-template-columns: repeat(auto-fill, 14px); gap: 2px; margin: .5rem 0; }
.cell { width: 14px; height: 14px; border-radius: 2px; }
.cell.unowned { background: repeating-linear-gradient(45deg, var(--line), var(--line) 2px, transparent 2px, transparent 4px); }
.cell.orphan { outline: 2px solid var(--bad); outline-offset: -2px; }
td.swatch { width: 14px; padding: 0; border-radius: 2px; }
td.swatch + td { padding-left: .5rem; }
`;

const BODY = `
<header><h1>Flotilla</h1><span id="node"></span><span class="muted">updated <span id="updated"></span></span><button type="button" id="logout" hidden>Forget token</button></header>
<form id="login" autocomplete="off" hidden>
<label for="token">Admin token</label><input id="token" name="token" type="password" autocomplete="off" spellcheck="false"> <button type="submit">Show the cluster</button>
</form>
<p id="message" class="message" role="alert" hidden></p>
<main id="view" hidden>
<section><h2>This node</h2><table><tbody>
<tr><th>Health</th><td id="health" class="verdict"></td></tr>
<tr><th>Quorum</th><td id="quorum" class="verdict"></td></tr>
<tr><th>Master</th><td id="master"></td></tr>
<tr><th>Members view</th><td>version <span id="members-version"></span></td></tr>
</tbody></table></section>
<section><h2>Entities active on this node: <span id="entities-total"></span></h2>
<table id="entities"><thead><tr><th>Type</th><th>Active</th></tr></thead><tbody></tbody></table></section>
<section class="wide"><h2>Members</h2>
<table id="members"><thead><tr><th>Node</th><th></th><th>Address</th><th>State</th><th>Join</th><th>Incarnation</th><th>Tags</th><th>Clock offset</th></tr></thead><tbody></tbody></table></section>
<section class="wide"><h2>Partitions: <span id="partition-count"></span>, table version <span id="table-version"></span>, <span id="unowned"></span></h2>
<p id="partitions-error" class="bad"></p>
<table id="owners"><thead><tr><th></th><th>Member</th><th>Owned</th><th>Backups</th></tr></thead><tbody></tbody></table>
<h3>Owner of each partition (outlined: owner not alive; hatched: no owner)</h3><div id="grid"></div></section>
<section class="wide"><h2>Migrations in flight: <span id="in-flight-count"></span></h2>
<table id="in-flight"><thead><tr><th>Id</th><th>Partition</th><th>Source</th><th>Destination</th><th>Role</th><th>State</th><th>Started</th><th>This node</th></tr></thead><tbody></tbody></table>
<h3>Recently finished</h3>
<table id="recent"><thead><tr><th>Id</th><th>Partition</th><th>Source</th><th>Destination</th><th>Role</th><th>Outcome</th><th>Reason</th><th>Finished</th><th>Took</th><th>This node</th></tr></thead><tbody></tbody></table></section>
</main>
`;

function sha256Source(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/**
 * The policy the page is served with: nothing but its own inline style and script (by
 * hash, so an injected element could run nothing), fetches to this origin only, no
 * framing, no form posts, no base URL. Inline `style=` attributes stay blocked; the
 * script colours the grid through the CSSOM, which the policy does not restrict.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  `script-src ${sha256Source(DASHBOARD_SCRIPT)}`,
  `style-src ${sha256Source(STYLE)}`,
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The page, as served. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Flotilla dashboard</title>
<style>${STYLE}</style>
</head>
<body>${BODY}<script>${DASHBOARD_SCRIPT}</script>
</body>
</html>
`;

/** Headers of every dashboard answer besides the content type and `Cache-Control: no-store`. */
export const DASHBOARD_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': DASHBOARD_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

function dashboard(): RouteResponse {
  return { status: 200, contentType: 'text/html; charset=utf-8', body: DASHBOARD_HTML, headers: DASHBOARD_HEADERS };
}

/** The dashboard route; it answers GET (and HEAD) like every admin route. */
export const DASHBOARD_ROUTE: AdminRoute = { path: DASHBOARD_PATH, queryParams: [], handle: dashboard };
