// The playground page: a requestAnimationFrame loop advances the simulated
// cluster (WebAssembly) by the frame's wall time times the speed, reads what
// changed, and draws it.
import init, { Playground } from './pkg/raftplay.js';
import { drawCluster, drawLogs, layout } from './draw.js';

const $ = id => document.getElementById(id);
const EVENTS_SHOWN = 200;

const state = {
  pg: null,
  options: null,
  playing: true,
  selected: null,
  group: new Set(),
  nodes: [],
  messages: [],
  cuts: new Set(),
  logs: [],
  centres: [],
  lastFrame: null,
  lastKv: 0,
  lastUrl: 0,
  dirty: true,
  seeking: false,
};

function speed() {
  return Math.pow(10, (Number($('speed').value) - 100) / 50);
}

function showSpeed() {
  const s = speed();
  $('speed-out').textContent = s >= 0.995 ? '1×' : `1/${Math.round(1 / s)}×`;
}

function banner(text) {
  const b = $('banner');
  b.textContent = text;
  b.hidden = !text;
}

function options() {
  return {
    nodes: Number($('nodes').value),
    seed: Math.max(0, Math.floor(Number($('seed').value) || 0)),
    latency_min_ms: Number($('lat-min').value),
    latency_max_ms: Number($('lat-max').value),
    drop_rate: Number($('drops').value) / 100,
    pre_vote: $('prevote').checked,
    check_quorum: $('checkquorum').checked,
  };
}

function showOptions(o) {
  $('nodes').value = String(o.nodes);
  $('seed').value = String(o.seed);
  $('lat-min').value = String(o.latency_min_ms);
  $('lat-max').value = String(o.latency_max_ms);
  $('drops').value = String(Math.round(o.drop_rate * 100));
  $('drops-out').textContent = `${Math.round(o.drop_rate * 100)}%`;
  $('prevote').checked = o.pre_vote;
  $('checkquorum').checked = o.check_quorum;
}

// Replaces the cluster; every view is read afresh.
function adopt(pg) {
  if (state.pg) state.pg.free();
  state.pg = pg;
  state.options = pg.options();
  state.logs = [];
  state.selected = null;
  state.group.clear();
  showOptions(state.options);
  $('events').replaceChildren();
  appendEvents(pg.recentEvents());
  renderGroup();
  refresh(true);
}

function fresh(opts) {
  try {
    adopt(new Playground(opts));
    banner('');
  } catch (e) {
    banner(`Cannot start a cluster with these options: ${e.message}`);
  }
}

// ----- the URL holds the run -------------------------------------------------

function encodeRecord(record) {
  const bytes = new TextEncoder().encode(JSON.stringify(record));
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function decodeRecord(text) {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const raw = atob(b64);
  const bytes = Uint8Array.from(raw, c => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

function linkFor() {
  return `${location.origin}${location.pathname}#run=${encodeRecord(state.pg.record())}`;
}

function saveUrl(now) {
  if (now - state.lastUrl < 1000) return;
  state.lastUrl = now;
  history.replaceState(null, '', `#run=${encodeRecord(state.pg.record())}`);
}

function openFromUrl() {
  const m = location.hash.match(/^#run=(.+)$/);
  if (!m) return false;
  try {
    adopt(Playground.restore(decodeRecord(m[1])));
    state.playing = false;
    showPlay();
    banner('Reopened the run from the link, paused at the moment it was saved. Press space to play.');
    return true;
  } catch (e) {
    history.replaceState(null, '', location.pathname);
    fresh(options());
    banner(`This link could not be opened (${e.message}); here is a fresh cluster instead.`);
    return true;
  }
}

// ----- reading the model -------------------------------------------------------

function applyLogChanges(changes) {
  for (const c of changes) {
    const log = state.logs[c.node] || (state.logs[c.node] = { terms: [], keys: [] });
    log.terms.length = c.from - 1;
    log.keys.length = c.from - 1;
    log.terms.push(...c.terms);
    log.keys.push(...c.keys);
  }
}

function appendEvents(events) {
  if (!events.length) return;
  const list = $('events');
  const frag = document.createDocumentFragment();
  for (const e of events) {
    const li = document.createElement('li');
    li.className = e.category;
    li.textContent = `${(e.time_ms / 1000).toFixed(3)} ${e.text}`;
    frag.appendChild(li);
  }
  const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
  list.appendChild(frag);
  while (list.childElementCount > EVENTS_SHOWN) list.firstElementChild.remove();
  if (atBottom) list.scrollTop = list.scrollHeight;
}

function refresh(all) {
  const pg = state.pg;
  state.nodes = pg.nodes();
  state.messages = pg.messages();
  state.cuts = new Set(pg.cuts().map(([a, b]) => `${a}-${b}`));
  if (all) pg.resendLogs();
  applyLogChanges(pg.logChanges());
  appendEvents(pg.events());
}

function leader() {
  const l = state.nodes.find(n => n.role === 'leader' && n.alive);
  return l ? l.id : null;
}

// ----- drawing -------------------------------------------------------------------

function draw(now) {
  const pg = state.pg;
  const o = state.options;
  state.centres = drawCluster($('cluster'), {
    nodes: state.nodes,
    messages: state.messages,
    cuts: state.cuts,
    nowMs: pg.nowMs(),
    selected: state.selected,
    group: state.group,
    electionMaxMs: o.election_timeout_max_ms,
  });
  drawLogs($('logs'), state.nodes, state.logs);
  if (!state.seeking) {
    const t = $('timeline');
    t.max = String(Math.max(1, Math.round(pg.horizonMs())));
    t.value = String(Math.round(pg.nowMs()));
  }
  $('now').textContent = `${(pg.nowMs() / 1000).toFixed(3)} s`;
  drawInspector();
  if (now - state.lastKv > 250) {
    state.lastKv = now;
    drawKv();
  }
}

function drawInspector() {
  const id = state.selected;
  const buttons = ['crash', 'restart', 'timeout'];
  if (id === null || !state.nodes[id]) {
    $('inspect-title').textContent = 'click a node';
    $('inspect-body').textContent = 'Select a node on the ring (or press 1-9) to see its state and act on it.';
    buttons.forEach(b => ($(b).disabled = id === null && b !== 'crash'));
    return;
  }
  const n = state.nodes[id];
  $('inspect-title').textContent = `S${id + 1}: ${n.alive ? n.role : 'crashed'}, term ${n.term}`;
  const lines = [
    `voted for   ${n.voted_for === null ? '-' : 'S' + (n.voted_for + 1)}`,
    `leader      ${n.leader === null ? 'unknown' : 'S' + (n.leader + 1)}`,
    `commit      ${n.commit} of ${n.log_len} entries`,
  ];
  if (n.alive && n.role !== 'leader') {
    lines.push(`times out   in ${Math.max(0, n.election_deadline_ms - state.pg.nowMs()).toFixed(0)} ms`);
  }
  if (n.held) lines.push(`holding     ${n.held} client requests (no leader known)`);
  for (const p of n.progress) lines.push(`S${p.peer + 1}: next ${p.next}, match ${p.matched}`);
  $('inspect-body').textContent = lines.join('\n');
  $('crash').disabled = !n.alive;
  $('restart').disabled = n.alive;
  $('timeout').disabled = !n.alive || n.role === 'leader';
}

function drawKv() {
  const id = state.selected !== null ? state.selected : leader();
  if (id === null) {
    $('kv-title').textContent = 'key-value';
    $('kv').textContent = 'no leader yet';
    return;
  }
  const pairs = state.pg.kv(id);
  $('kv-title').textContent = `key-value (S${id + 1})`;
  $('kv').textContent = pairs.length ? pairs.map(([k, v]) => `${k} = ${v}`).join('\n') : '(empty)';
}

// ----- acting ----------------------------------------------------------------------

function act(f) {
  try {
    f(state.pg);
    banner('');
  } catch (e) {
    banner(e.message);
  }
  refresh(false);
}

function target() {
  return state.selected !== null ? state.selected : leader();
}

function select(id) {
  state.selected = id !== null && id < state.nodes.length ? id : null;
  state.lastKv = 0;
}

function renderGroup() {
  const g = $('group');
  g.replaceChildren();
  const n = state.options ? state.options.nodes : 5;
  for (let i = 0; i < n; i++) {
    const label = document.createElement('label');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.checked = state.group.has(i);
    box.addEventListener('change', () => {
      box.checked ? state.group.add(i) : state.group.delete(i);
    });
    label.append(box, ` S${i + 1}`);
    g.append(label);
  }
}

function showPlay() {
  $('play').textContent = state.playing ? '❚❚ pause' : '▶ play';
}

const keys = {
  ' ': () => { state.playing = !state.playing; showPlay(); },
  '.': () => act(pg => pg.step()),
  '+': () => { $('speed').value = String(Math.min(100, Number($('speed').value) + 10)); showSpeed(); },
  '-': () => { $('speed').value = String(Math.max(0, Number($('speed').value) - 10)); showSpeed(); },
  c: () => { const t = target(); if (t !== null) act(pg => pg.crash(t)); },
  r: () => { if (state.selected !== null) act(pg => pg.restart(state.selected)); },
  t: () => { if (state.selected !== null) act(pg => pg.timeout(state.selected)); },
  p: () => $('put').click(),
  g: () => $('get').click(),
  a: () => $('auto').click(),
  h: () => act(pg => pg.heal()),
  '?': () => { $('help').hidden = !$('help').hidden; },
  Escape: () => { $('help').hidden = true; select(null); },
};

function wire() {
  for (let n = 3; n <= 9; n++) $('nodes').add(new Option(String(n), String(n)));
  $('nodes').value = '5';
  $('play').addEventListener('click', keys[' ']);
  $('step').addEventListener('click', keys['.']);
  $('speed').addEventListener('input', showSpeed);
  $('new').addEventListener('click', () => { fresh(options()); state.playing = true; showPlay(); });
  $('drops').addEventListener('input', () => {
    const v = Number($('drops').value);
    $('drops-out').textContent = `${v}%`;
    act(pg => pg.setDropRate(v / 100));
  });
  const latency = () => act(pg => pg.setLatency(Number($('lat-min').value), Number($('lat-max').value)));
  $('lat-min').addEventListener('change', latency);
  $('lat-max').addEventListener('change', latency);
  $('copy-link').addEventListener('click', async () => {
    const link = linkFor();
    try { await navigator.clipboard.writeText(link); banner('Link copied: it reopens this run at this moment.'); }
    catch { banner(`Copy this link: ${link}`); }
  });
  $('help-btn').addEventListener('click', keys['?']);
  $('help-close').addEventListener('click', () => ($('help').hidden = true));
  $('put').addEventListener('click', () => act(pg => pg.put($('key').value, $('value').value, state.selected ?? undefined)));
  $('get').addEventListener('click', () => act(pg => pg.get($('key').value, state.selected ?? undefined)));
  $('auto').addEventListener('change', () => act(pg => pg.setAuto($('auto').checked)));
  $('partition').addEventListener('click', () => {
    if (!state.group.size) return banner('Check the nodes of one group first, then press partition.');
    act(pg => pg.partition([[...state.group]]));
  });
  $('heal').addEventListener('click', keys.h);
  $('crash').addEventListener('click', keys.c);
  $('restart').addEventListener('click', keys.r);
  $('timeout').addEventListener('click', keys.t);
  const timeline = $('timeline');
  timeline.addEventListener('input', () => {
    state.seeking = true;
    state.playing = false;
    showPlay();
    act(pg => pg.seek(Number(timeline.value)));
    $('events').replaceChildren();
    appendEvents(state.pg.recentEvents());
    state.logs = [];
    refresh(true);
  });
  timeline.addEventListener('change', () => { state.seeking = false; });
  $('cluster').addEventListener('click', e => {
    const r = $('cluster').getBoundingClientRect();
    const x = e.clientX - r.left, y = e.clientY - r.top;
    const { radius } = layout(state.nodes.length, r.width, r.height);
    const hit = state.centres.findIndex(c => Math.hypot(c.x - x, c.y - y) <= radius + 8);
    select(hit >= 0 ? hit : null);
  });
  document.addEventListener('keydown', e => {
    if (e.target instanceof HTMLInputElement && e.target.type !== 'checkbox' && e.target.type !== 'range') return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (/^[1-9]$/.test(e.key)) { select(Number(e.key) - 1); return; }
    const f = keys[e.key];
    if (f) { e.preventDefault(); f(); }
  });
}

function frame(now) {
  const dt = state.lastFrame === null ? 0 : Math.min(100, now - state.lastFrame);
  state.lastFrame = now;
  if (state.playing) {
    try {
      state.pg.advance(dt * speed());
    } catch (e) {
      state.playing = false;
      showPlay();
      banner(`The simulation stopped: ${e.message}`);
    }
  }
  refresh(false);
  draw(now);
  saveUrl(now);
  requestAnimationFrame(frame);
}

async function main() {
  await init();
  wire();
  showSpeed();
  if (!openFromUrl()) fresh(options());
  // Hooks for tests and the curious.
  window.raftplay = {
    playground: () => state.pg,
    leader,
    nodes: () => state.nodes,
    nodeCenter: id => {
      const r = $('cluster').getBoundingClientRect();
      const c = state.centres[id];
      return { x: r.left + c.x, y: r.top + c.y };
    },
    committed: key => state.nodes.some(n => (state.logs[n.id]?.keys || []).slice(0, n.commit).some(k => k.startsWith(`${key}=`))),
  };
  requestAnimationFrame(frame);
}

main().catch(e => banner(`The playground failed to start: ${e.message}`));
