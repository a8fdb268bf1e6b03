// Reading the model and drawing it: the events list, the hint, the
// ring, the logs, the lane, the inspector and the store, and the tips a
// pointer raises.
import { drawCluster, drawLogs, drawHistory, LOSSES } from './draw.js';
import { leaderOf, readFrame, committed } from './model.js';
import { holds } from './scenarios.js';
import { $, EVENTS_SHOWN, LANE_MS, state } from './state.js';
import { readLights } from './hunt.js';
import { storyNames } from './story.js';
import { graderRing } from './grader-panel.js';
import { act } from './input.js';
import { leader } from './app.js';

export function appendEvents(events) {
  if (!events.length) return;
  const list = $('events');
  const frag = document.createDocumentFragment();
  for (const e of events) {
    const li = document.createElement('li');
    li.className = e.category;
    li.dataset.timeMs = String(e.time_ms);
    if (e.node !== null) li.dataset.node = String(e.node);
    li.textContent = `${(e.time_ms / 1000).toFixed(3)} ${e.text}`;
    frag.appendChild(li);
  }
  list.appendChild(frag);
  // While the student reads scrolled up, the lines they read stay: the
  // list keeps ten times as many before it drops its oldest (dropped
  // under them, the view would land at the end).
  const keep = state.followEvents ? EVENTS_SHOWN : 10 * EVENTS_SHOWN;
  let dropped = 0;
  while (list.childElementCount > keep) { list.firstElementChild.remove(); dropped++; }
  if (dropped) {
    state.eventsDropped += dropped;
    $('events-dropped').hidden = false;
    $('events-dropped').textContent = `${state.eventsDropped} earlier events are not listed (the list keeps the latest ${EVENTS_SHOWN}; export keeps every one)`;
  }
  // Follows the newest line unless the student scrolled up.
  if (state.followEvents) list.scrollTop = list.scrollHeight;
}

// The hint under the ring says what the cluster is doing now.
export function showHintState() {
  const l = leaderOf(state.nodes);
  const term = l === null ? 0 : state.nodes[l].term;
  const text = l === null ? (state.nodes.some(n => n.term > 0) ? 'has no leader: an election is under way' : 'is electing a leader')
    : `is led by S${l + 1} in term ${term}`;
  if ($('hint-state').textContent !== text) $('hint-state').textContent = text;
}

export function refresh(all) {
  const f = readFrame(state.pg, state.logs, all);
  state.nodes = f.nodes;
  showHintState();
  state.messages = f.messages;
  state.cuts = f.cuts;
  appendEvents(f.events);
  readLights();
}

export function draw(now) {
  const pg = state.pg;
  // A course grader run on the page takes the ring while it goes on.
  const graded = graderRing();
  const drawn = drawCluster($('cluster'), graded ? {
    ...graded,
    cuts: new Set(),
    selected: null,
    group: new Set(),
    alarm: new Set(),
    names: null,
  } : {
    nodes: state.nodes,
    messages: state.messages,
    cuts: state.cuts,
    nowMs: pg.nowMs(),
    selected: state.selected,
    group: state.group,
    alarm: state.alarm,
    electionMaxMs: state.options.election_timeout_max_ms,
    names: storyNames(),
  });
  state.centres = drawn.centres;
  state.radius = drawn.radius;
  state.placed = drawn.placed;
  state.logLayout = drawLogs($('logs'), state.nodes, state.logs.byNode);
  const now_ = pg.nowMs();
  state.bars = drawHistory($('lane'), pg.historySince(Math.max(0, now_ - LANE_MS)), now_, LANE_MS);
  if (state.hover) state.hover();
  if (!state.seeking) {
    const t = $('timeline');
    t.max = String(Math.max(1, Math.round(pg.horizonMs())));
    t.value = String(Math.round(pg.nowMs()));
  }
  $('now').textContent = `${(pg.nowMs() / 1000).toFixed(3)} s`;
  const red = state.lights.find(l => !l.ok);
  if (red) $('timeline-mark').style.left = `${(100 * red.at_ms) / Math.max(1, pg.horizonMs())}%`;
  drawInspector();
  if (now - state.lastKv > 250) {
    state.lastKv = now;
    drawKv();
  }
}

export function drawInspector() {
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
  // Figure 2's persistent state (term, vote, log) survives a crash; the
  // rest is volatile.
  const lines = [
    `term        ${n.term}  (persistent)`,
    `voted for   ${n.voted_for === null ? '-' : 'S' + (n.voted_for + 1)}  (persistent)`,
    `log         ${n.log_len} entries  (persistent)`,
    `leader      ${n.leader === null ? 'unknown' : 'S' + (n.leader + 1)}  (volatile)`,
    `commit      ${n.commit}  (volatile)`,
  ];
  if (n.alive && n.role !== 'leader') {
    lines.push(`times out   in ${Math.max(0, n.election_deadline_ms - state.pg.nowMs()).toFixed(0)} ms`);
    if (n.vote_guard_ms !== null) lines.push(`vote guard  until ${(n.vote_guard_ms / 1000).toFixed(3)} s: refuses candidates, holds back a forced timeout`);
  }
  if (n.held) lines.push(`holding     ${n.held} client requests (no leader known)`);
  for (const p of n.progress) lines.push(`S${p.peer + 1}: next ${p.next}, match ${p.matched}`);
  $('inspect-body').textContent = lines.join('\n');
  $('crash').disabled = !n.alive;
  $('restart').disabled = n.alive;
  $('timeout').disabled = !n.alive || n.role === 'leader';
}

export function drawKv() {
  const id = state.selected !== null ? state.selected : leader();
  const list = $('kv');
  if (id === null) {
    $('kv-title').textContent = 'key-value';
    list.replaceChildren(Object.assign(document.createElement('li'), { textContent: 'no leader yet' }));
    return;
  }
  const pairs = state.pg.kv(id);
  $('kv-title').textContent = `key-value (S${id + 1})`;
  const items = pairs.map(([k, v]) => {
    const li = document.createElement('li');
    const key = document.createElement('b');
    key.textContent = k;
    li.append(key, ` = ${v}`);
    return li;
  });
  if (!items.length) items.push(Object.assign(document.createElement('li'), { textContent: '(empty)' }));
  list.replaceChildren(...items);
}

export function tip(text, e) {
  const t = $('tip');
  if (!text) { t.hidden = true; return; }
  t.textContent = text;
  t.hidden = false;
  t.style.left = `${Math.min(e.clientX + 14, window.innerWidth - t.offsetWidth - 8)}px`;
  t.style.top = `${e.clientY + 14}px`;
}

// The message in flight under the pointer, in words.
// The message under the pointer, in words. A message once hovered stays
// described until the pointer moves (`state.watched`), and once it has
// arrived the tip adds what its arrival caused: the receiver's events at
// that moment.
export function messageTip(x, y) {
  let best = null, dist = 12;
  for (const p of state.placed || []) {
    const d = Math.hypot(p.x - x, p.y - y);
    if (d < dist) { best = p.m; dist = d; }
  }
  if (best) state.watched = best;
  const m = state.watched;
  if (!m) return null;
  if (m.held !== null) return `S${m.from + 1} → S${m.to + 1}: ${m.text}, term ${m.term}\nwaiting on its link: click to deliver it, right click to drop it or deliver a copy`;
  const fate = m.lost ? `\nwill not arrive: ${LOSSES[m.lost]}` : '';
  const text = `S${m.from + 1} → S${m.to + 1}: ${m.text}, term ${m.term}\nsent ${(m.sent_ms / 1000).toFixed(3)} s, arrives ${(m.arrives_ms / 1000).toFixed(3)} s${fate}`;
  if (m.lost || state.pg.nowMs() < m.arrives_ms) return text;
  // Once arrived, what it caused is looked up once, not every frame.
  if (m.caused === undefined) {
    const caused = state.pg.recentEvents().filter(e => e.node === m.to && Math.abs(e.time_ms - m.arrives_ms) < 1e-6);
    m.caused = caused.length ? caused.map(e => `  ${e.text}`).join('\n') : '  nothing the event list tells';
  }
  return `${text}\non arrival:\n${m.caused}`;
}

// The log entry under the pointer, in words.
export function entryTip(x, y) {
  const l = state.logLayout;
  if (!l) return null;
  const id = Math.floor((y - l.top) / l.row);
  const node = state.nodes[id];
  const index = l.first + Math.floor((x - l.left) / (l.cell + 1));
  const log = state.logs.byNode[id];
  if (!node || !log || x < l.left || index < 1 || index > log.terms.length) return null;
  const key = log.keys[index - 1];
  const status = !node.alive || !node.commit_known ? (index <= node.commit ? 'committed' : 'commit index unknown (volatile)')
    : index <= node.commit ? 'committed' : 'not yet committed';
  return `S${id + 1}, index ${index}: term ${log.terms[index - 1]}, ${key ? key : "no-op"}\n${status}`;
}

export function follow(canvas, describe) {
  canvas.addEventListener('mousemove', e => {
    const r = canvas.getBoundingClientRect();
    const x = e.clientX - r.left, y = e.clientY - r.top;
    state.watched = null;
    state.hover = () => tip(describe(x, y), e);
    state.hover();
  });
  canvas.addEventListener('mouseleave', () => { state.hover = null; state.watched = null; tip(null); });
}
