/**
 * The dashboard's browser script, as text the page inlines (its hash goes into the
 * Content-Security-Policy). It polls the admin API's JSON routes with the admin token the
 * operator typed, kept in sessionStorage only, and renders every value with textContent:
 * node ids, tags and reasons come from the network and must never become markup.
 * Written as plain ES2020 without template literals, so it sits in a TS string as is.
 */

/** Pause between the end of one poll and the start of the next, in ms. */
export const DASHBOARD_POLL_MS = 1_000;
/** How long one poll request may take before the page calls the node unreachable, in ms. */
export const DASHBOARD_FETCH_TIMEOUT_MS = 5_000;
/** Recently finished migrations the page lists, at most. */
export const DASHBOARD_RECENT_MIGRATIONS_MAX = 20;

export const DASHBOARD_SCRIPT = `
'use strict';
(() => {
  const TOKEN_KEY = 'flotilla-admin-token';
  const POLL_MS = ${DASHBOARD_POLL_MS};
  const FETCH_TIMEOUT_MS = ${DASHBOARD_FETCH_TIMEOUT_MS};
  const RECENT_MAX = ${DASHBOARD_RECENT_MIGRATIONS_MAX};
  const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#b07aa1', '#76b7b2', '#edc948', '#9c755f', '#ff9da7', '#bab0ac', '#1f77b4', '#2ca02c'];
  const KNOWN_STATES = ['alive', 'suspect', 'dead', 'left'];
  const $ = (id) => document.getElementById(id);
  let generation = 0;

  function el(tag, text, className) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (className) e.className = className;
    return e;
  }
  function row(values) {
    const tr = document.createElement('tr');
    for (const v of values) tr.append(v instanceof Node ? v : el('td', v));
    return tr;
  }
  function stateCell(state) {
    const known = KNOWN_STATES.includes(state) ? state : 'other';
    return el('td', state, 'state state-' + known);
  }
  function time(ms) {
    return typeof ms === 'number' ? new Date(ms).toLocaleTimeString() : '-';
  }
  function tagsText(tags) {
    const entries = Object.entries(tags || {}).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return entries.length === 0 ? '-' : entries.map((e) => e[0] + '=' + e[1]).join(', ');
  }
  function setMessage(text, kind) {
    const m = $('message');
    m.textContent = text || '';
    m.className = 'message ' + (kind || '');
    m.hidden = !text;
  }
  function showLogin(show) {
    $('login').hidden = !show;
    $('logout').hidden = show;
    if (show) $('token').focus();
  }

  async function get(path, token) {
    const res = await fetch(path, {
      headers: { authorization: 'Bearer ' + token },
      cache: 'no-store',
      credentials: 'omit',
      redirect: 'error',
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    });
    let body = null;
    try {
      body = await res.json();
    } catch (e) {
      body = null;
    }
    return { status: res.status, body };
  }
  function errorText(answer) {
    const b = answer.body;
    return answer.status + (b && b.code ? ' ' + b.code : '') + (b && b.message ? ': ' + b.message : '');
  }

  function renderHealth(h) {
    $('node').textContent = h.body && h.body.nodeId ? 'node ' + h.body.nodeId : '';
    $('health').textContent = h.body && h.body.status ? h.body.status + ' (' + h.body.state + ')' + (h.body.reason ? ': ' + h.body.reason : '') : errorText(h);
    $('health').className = 'verdict ' + (h.status === 200 && h.body.status === 'ok' ? 'good' : 'bad');
  }
  function renderQuorum(q) {
    const box = $('quorum');
    if (q.status !== 200) {
      box.textContent = errorText(q);
      box.className = 'verdict bad';
      return;
    }
    const b = q.body;
    const counts = b.liveMembers + ' of ' + b.expectedSize + ' expected members live';
    if (b.readOnly) box.textContent = 'READ-ONLY: this node is in the minority (' + counts + ') and refuses writes';
    else if (b.minority) box.textContent = 'quorum lost (' + counts + '): read-only once the grace period ends';
    else box.textContent = b.state + ' (' + counts + ')';
    box.className = 'verdict ' + (b.readOnly ? 'bad' : b.minority ? 'warn' : 'good');
  }
  function renderMembers(m) {
    const body = $('members').tBodies[0];
    if (m.status !== 200) return body.replaceChildren(row([errorText(m)]));
    $('members-version').textContent = String(m.body.version);
    $('master').textContent = m.body.master === null ? 'unknown' : m.body.master;
    body.replaceChildren(...m.body.members.map((x) => {
      const tr = row([x.nodeId, x.nodeId === m.body.master ? 'master' : '', x.address, stateCell(x.state), x.joinVersion === null ? '-' : x.joinVersion, x.incarnation, tagsText(x.tags), x.clockOffsetMs === null ? '-' : x.clockOffsetMs + ' ms']);
      tr.dataset.node = x.nodeId;
      tr.dataset.state = x.state;
      return tr;
    }));
  }
  function colours(ids) {
    const map = new Map();
    ids.forEach((id, i) => map.set(id, i < PALETTE.length ? PALETTE[i] : 'hsl(' + ((i * 137.5) % 360) + ', 55%, 55%)'));
    return map;
  }
  function renderPartitions(p, m) {
    if (p.status !== 200) return ($('partitions-error').textContent = errorText(p));
    $('partitions-error').textContent = '';
    $('table-version').textContent = String(p.body.version);
    $('partition-count').textContent = String(p.body.partitionCount);
    const alive = new Set(m.status === 200 ? m.body.members.filter((x) => x.state === 'alive').map((x) => x.nodeId) : []);
    const counts = new Map();
    if (m.status === 200) for (const x of m.body.members) counts.set(x.nodeId, { owned: 0, backups: 0 });
    let unowned = 0;
    for (const part of p.body.partitions) {
      if (part.owner === null) unowned++;
      else {
        if (!counts.has(part.owner)) counts.set(part.owner, { owned: 0, backups: 0 });
        counts.get(part.owner).owned++;
      }
      for (const b of part.backups) {
        if (!counts.has(b)) counts.set(b, { owned: 0, backups: 0 });
        counts.get(b).backups++;
      }
    }
    $('unowned').textContent = unowned === 0 ? 'every partition has an owner' : unowned + ' without an owner';
    const colour = colours([...counts.keys()]);
    $('owners').tBodies[0].replaceChildren(...[...counts.entries()].map((e) => {
      const swatch = el('td', '', 'swatch');
      swatch.style.backgroundColor = colour.get(e[0]);
      const tr = row([swatch, e[0], e[1].owned, e[1].backups]);
      tr.dataset.node = e[0];
      return tr;
    }));
    const grid = $('grid');
    while (grid.children.length > p.body.partitions.length) grid.lastChild.remove();
    while (grid.children.length < p.body.partitions.length) grid.append(el('div', null, 'cell'));
    p.body.partitions.forEach((part, i) => {
      const cell = grid.children[i];
      cell.className = 'cell' + (part.owner === null ? ' unowned' : alive.has(part.owner) ? '' : ' orphan');
      cell.style.backgroundColor = part.owner === null ? '' : colour.get(part.owner);
      cell.title = 'partition ' + part.partition + ': owner ' + (part.owner === null ? 'none' : part.owner) + ', backups ' + (part.backups.join(', ') || 'none') + ', epoch ' + part.epoch;
    });
  }
  function renderMigrations(g) {
    const inFlight = $('in-flight').tBodies[0];
    const recent = $('recent').tBodies[0];
    if (g.status !== 200) return inFlight.replaceChildren(row([errorText(g)]));
    $('in-flight-count').textContent = String(g.body.inFlight.length);
    inFlight.replaceChildren(...g.body.inFlight.map((x) => row([x.id, x.partition, x.source, x.destination, x.role, x.state, time(x.startedAt), x.perspective])));
    recent.replaceChildren(...g.body.recent.slice(0, RECENT_MAX).map((x) => row([x.id, x.partition, x.source, x.destination, x.role, x.outcome || '-', x.reason || '', time(x.finishedAt), typeof x.finishedAt === 'number' ? x.finishedAt - x.startedAt + ' ms' : '-', x.perspective])));
  }
  function renderEntities(e) {
    const body = $('entities').tBodies[0];
    if (e.status === 404) {
      $('entities-total').textContent = 'none: this node hosts no entities';
      return body.replaceChildren();
    }
    if (e.status !== 200) return body.replaceChildren(row([errorText(e)]));
    $('entities-total').textContent = e.body.types.length === 0 ? 'none: no entity type is registered on this node' : String(e.body.active);
    body.replaceChildren(...e.body.types.map((t) => row([t.type, t.active])));
  }

  async function poll(token, mine) {
    let answers;
    try {
      // Relative to the page, so a proxy serving the admin API under a prefix keeps working.
      answers = await Promise.all(['health', 'cluster/quorum', 'cluster/members', 'cluster/partitions', 'cluster/migrations', 'entities?limit=0'].map((path) => get(path, token)));
    } catch (e) {
      if (mine === generation) setMessage('The node does not answer (' + (e && e.name === 'TimeoutError' ? 'timed out' : 'network error') + '); still trying. The values below are from ' + ($('updated').textContent || 'no poll yet') + '.', 'warn');
      return true;
    }
    if (mine !== generation) return false;
    const refused = answers.find((a) => a.status === 401 || a.status === 403);
    if (refused !== undefined && refused.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      $('view').hidden = true;
      showLogin(true);
      setMessage('401 Unauthorized: the node refused this admin token. Enter the admin token of this node (FLOTILLA_ADMIN_TOKEN).', 'bad');
      return false;
    }
    if (refused !== undefined) {
      setMessage('403 Forbidden: ' + errorText(refused) + '. Open the dashboard through a host name the node allows.', 'bad');
      return false;
    }
    const [health, quorum, members, partitions, migrations, entities] = answers;
    setMessage('');
    renderHealth(health);
    renderQuorum(quorum);
    renderMembers(members);
    renderPartitions(partitions, members);
    renderMigrations(migrations);
    renderEntities(entities);
    $('updated').textContent = new Date().toLocaleTimeString();
    $('view').hidden = false;
    return true;
  }

  async function run(token) {
    const mine = ++generation;
    showLogin(false);
    while (mine === generation && (await poll(token, mine))) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  $('login').addEventListener('submit', (event) => {
    event.preventDefault();
    const token = $('token').value.trim();
    $('token').value = '';
    if (token === '') return setMessage('Enter the admin token.', 'bad');
    sessionStorage.setItem(TOKEN_KEY, token);
    setMessage('Connecting...', '');
    run(token);
  });
  $('logout').addEventListener('click', () => {
    generation++;
    sessionStorage.removeItem(TOKEN_KEY);
    $('view').hidden = true;
    setMessage('Token forgotten.', '');
    showLogin(true);
  });
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) run(saved);
  else showLogin(true);
})();
`;
