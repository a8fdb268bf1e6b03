// A recorded run (`gradesim udp --record`) replayed: the replicas on a
// ring, each datagram moving along its link with a glyph by its type, the
// leader each replica claims, red marks on the timeline where the grader
// found a wrong get, a duplicate or an unanswered request, and the
// replicas' own prints aligned to the timeline. Knows the recording format
// (README, "Recording a real run"); no WebAssembly.
import { fitCanvas, layout, PALETTE, drawHistory } from './draw.js';

const $ = id => document.getElementById(id);
// A datagram is drawn in flight for this much recorded time, µs.
const FLIGHT_US = 3000;
const BAD = new Set(['wrong_value', 'duplicate', 'unanswered', 'incorrect']);
// The history lane shows this much recorded time up to the moment, ms.
const LANE_SPAN_MS = 400;

const state = { rec: null, t: 0, playing: false, last: null, placed: [] };

function banner(text) { $('banner').textContent = text; $('banner').hidden = !text; }

// Parses a recording's text; throws with a clear message if it is not one.
export function parseRecording(text) {
  const lines = text.split('\n');
  if (!text.endsWith('\n')) lines.pop(); // a half-written last line
  const rec = { header: null, datagrams: [], faults: [], verdicts: [], prints: [], score: null };
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let v;
    try { v = JSON.parse(line); } catch { throw new Error(`line ${i + 1} is not JSON: not a recording`); }
    if (!rec.header && v.kind !== 'header') throw new Error('no header line: not a raftplay recording');
    switch (v.kind) {
      case 'header':
        if (v.format !== 'raftplay-recording') throw new Error('not a raftplay recording');
        rec.header = v; break;
      case 'datagram': rec.datagrams.push(v); break;
      case 'fault': rec.faults.push(v); break;
      case 'verdict': rec.verdicts.push(v); break;
      case 'print': rec.prints.push(v); break;
      case 'score': rec.score = v.score; break;
      default: throw new Error(`line ${i + 1}: unknown kind ${JSON.stringify(v.kind)}`);
    }
  });
  if (!rec.header) throw new Error('no header line: not a raftplay recording');
  const byT = (a, b) => a.t - b.t;
  rec.datagrams.sort(byT); rec.prints.sort(byT); rec.verdicts.sort(byT);
  rec.end = Math.max(1, ...[rec.datagrams, rec.prints, rec.verdicts, rec.faults].map(l => (l.length ? l[l.length - 1].t : 0)));
  rec.replicas = rec.header.replicas;
  rec.requests = requestsOf(rec);
  return rec;
}

// Each client request (by MID) as the history lane draws it: from its first
// send to the grader's last verdict on it (a redirect, unless the MID is
// answered again later), with the request's and the answer's JSON.
export function requestsOf(rec) {
  const clients = new Set(rec.header.clients || []);
  const byMid = new Map();
  for (const d of rec.datagrams) {
    const mid = d.json && d.json.MID;
    if (typeof mid !== 'string') continue;
    if (clients.has(d.src) && !byMid.has(mid)) {
      const put = d.json.type === 'put' ? String(d.json.value) : null;
      byMid.set(mid, { mid, client: d.src, key: String(d.json.key), put, invoke_ms: d.t / 1000, response_ms: null, result: null, verdict: null, request: d.json, answer: null });
    } else if (clients.has(d.dst) && byMid.has(mid)) {
      byMid.get(mid).answer = d.json;
    }
  }
  for (const v of rec.verdicts) {
    const op = byMid.get(v.mid);
    if (!op) continue;
    if (v.verdict === 'duplicate') { op.duplicate = true; continue; }
    op.verdict = v.verdict;
    if (v.verdict === 'unanswered') continue;
    op.response_ms = v.t / 1000;
    op.result = v.verdict === 'wrong_value' ? v.got : (op.answer && op.answer.value);
    op.bad = BAD.has(v.verdict) || v.verdict === 'fail';
    op.expected = v.expected;
  }
  return [...byMid.values()];
}

// The first index of `list` (sorted by t) with t >= t0.
function lowerBound(list, t0) {
  let lo = 0, hi = list.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (list[mid].t < t0) lo = mid + 1; else hi = mid; }
  return lo;
}

// A stable colour per datagram type, the course's types first.
const KNOWN = ['append', 'append_reply', 'vote', 'vote_reply', 'get', 'put', 'ok', 'fail', 'redirect'];
function typeOf(d) { return d.json && typeof d.json.type === 'string' ? d.json.type : '(not JSON)'; }
function colourOf(type) {
  const i = KNOWN.indexOf(type);
  if (i >= 0) return PALETTE[i % PALETTE.length];
  let h = 0;
  for (const c of type) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return `hsl(${h % 360}, 60%, 45%)`;
}

function load(rec, name) {
  state.rec = rec;
  state.t = 0;
  const simulated = rec.header.source === 'sim' ? ', simulated' : '';
  $('title').textContent = `${rec.header.config.name} (seed ${rec.header.seed}), ${rec.replicas.length} replicas${simulated}`;
  const bad = rec.verdicts.filter(v => BAD.has(v.verdict));
  const s = rec.score;
  $('summary').textContent = `${rec.datagrams.length} datagrams, ${rec.verdicts.length} verdicts (${bad.length} red), ${rec.prints.length} printed lines; `
    + (s ? `score: ${s.passed ? 'PASS' : 'FAIL'}, total_msgs ${s.total_msgs}, failures ${s.failures}, duplicates ${s.duplicates}` : 'the run ended before its score');
  $('timeline').max = String(rec.end);
  $('marks').replaceChildren(...bad.map(v => {
    const m = document.createElement('span');
    m.className = 'rec-mark';
    m.style.left = `${(100 * v.t) / rec.end}%`;
    m.title = `${v.verdict} (MID ${v.mid})`;
    return m;
  }));
  $('first-bad').disabled = !bad.length;
  $('first-bad').onclick = () => { state.t = Math.max(0, bad[0].t - FLIGHT_US); state.playing = false; showPlay(); };
  banner(`Opened ${name}.`);
}

// One line per request for the panel under the ring.
function describeRequest(op) {
  const what = op.put !== null ? `put ${op.key}=${op.put}` : `get ${op.key}`;
  const verdict = op.verdict === 'wrong_value'
    ? `wrong value: got ${JSON.stringify(op.result)}, expected ${JSON.stringify(op.expected)}`
    : (op.verdict ?? 'not answered yet');
  return `${op.client}: ${what} (MID ${op.mid}), sent ${(op.invoke_ms / 1000).toFixed(6)} s: ${verdict}`
    + `${op.duplicate ? ', answered twice' : ''}\nrequest ${JSON.stringify(op.request)}\nanswer  ${op.answer ? JSON.stringify(op.answer) : '-'}`;
}

// The next datagram after the moment shown.
function step() {
  const rec = state.rec;
  if (!rec) return;
  const i = lowerBound(rec.datagrams, state.t + 1);
  state.t = i < rec.datagrams.length ? rec.datagrams[i].t : rec.end;
  state.playing = false;
  showPlay();
}

function showPlay() { $('play').textContent = state.playing ? '❚❚ pause' : '▶ play'; }

// Who each replica claims leads: the `leader` field of the last datagram
// it sent before t.
function claims(rec, t) {
  const out = new Map();
  const end = lowerBound(rec.datagrams, t);
  for (let i = end - 1; i >= 0 && out.size < rec.replicas.length; i--) {
    const d = rec.datagrams[i];
    if (!out.has(d.src) && rec.replicas.includes(d.src) && d.json && typeof d.json.leader === 'string') out.set(d.src, d.json.leader);
  }
  return out;
}

function draw() {
  const rec = state.rec;
  const { ctx, w, h } = fitCanvas($('ring'));
  if (!rec) return;
  const n = rec.replicas.length;
  const { centres, radius } = layout(n, w, h);
  const at = id => {
    const i = rec.replicas.indexOf(id);
    if (i >= 0) return centres[i];
    return { x: w / 2, y: h / 2 }; // clients: the centre
  };
  const leaders = claims(rec, state.t);
  const claimed = new Set([...leaders.entries()].filter(([src, l]) => src === l).map(([src]) => src));
  // Datagrams in flight: sent within FLIGHT_US before t.
  state.placed = [];
  const from = lowerBound(rec.datagrams, state.t - FLIGHT_US), to = lowerBound(rec.datagrams, state.t + 1);
  for (let i = from; i < to; i++) {
    const d = rec.datagrams[i];
    const p = (state.t - d.t) / FLIGHT_US;
    const a = at(d.src), b = at(d.dst);
    const lost = d.fate !== 'delivered';
    const travel = lost ? Math.min(p, 0.5) : p;
    const x = a.x + (b.x - a.x) * travel, y = a.y + (b.y - a.y) * travel;
    const type = typeOf(d);
    ctx.globalAlpha = lost && p > 0.5 ? Math.max(0, 1 - (p - 0.5) * 2) : 1;
    ctx.fillStyle = colourOf(type);
    ctx.beginPath(); ctx.arc(x, y, 5, 0, 2 * Math.PI); ctx.fill();
    if (!KNOWN.includes(type)) { // a type the student invented: labelled
      ctx.font = '10px system-ui'; ctx.textAlign = 'left'; ctx.fillText(type, x + 7, y - 6);
    }
    ctx.globalAlpha = 1;
    state.placed.push({ x, y, d });
  }
  // Replicas: dead ones grey, the leader they claim below, a red ring if
  // two or more claim to lead at once.
  const dead = new Set(rec.faults.filter(f => f.t <= state.t).flatMap(f => f.killed || []));
  // The latest partition fault before t: its majority, or null once healed.
  const split = rec.faults.filter(f => f.t <= state.t && f.fault.startsWith('part_')).pop();
  const majority = split && split.majority ? new Set(split.majority) : null;
  for (const id of rec.replicas) {
    const { x, y } = at(id);
    ctx.beginPath(); ctx.arc(x, y, radius, 0, 2 * Math.PI);
    ctx.fillStyle = dead.has(id) ? '#e3e5e8' : '#eef4fa'; ctx.fill();
    ctx.lineWidth = claimed.has(id) ? 5 : 2;
    // Cut off from the majority by a partition: a dashed outline.
    if (majority && !majority.has(id)) ctx.setLineDash([6, 4]);
    ctx.strokeStyle = claimed.size > 1 && claimed.has(id) ? '#c0392b' : '#0072B2'; ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = '#1b1f24'; ctx.textAlign = 'center'; ctx.textBaseline = 'middle';
    ctx.font = `bold ${Math.round(radius * 0.5)}px system-ui`;
    ctx.fillText(id, x, y);
    ctx.font = '11px system-ui'; ctx.fillStyle = '#5b6570';
    const l = leaders.get(id);
    ctx.fillText(dead.has(id) ? 'killed' : `leader: ${l === undefined ? '?' : l}`, x, y + radius + 14);
  }
  if (majority) {
    ctx.fillStyle = '#5b6570'; ctx.textAlign = 'left'; ctx.font = '12px system-ui';
    ctx.fillText(`partitioned: ${[...rec.replicas].filter(id => !majority.has(id)).join(', ')} cut off from ${[...majority].join(', ')}`, 8, h - 10);
  }
  if (claimed.size > 1) {
    ctx.fillStyle = '#c0392b'; ctx.textAlign = 'left'; ctx.font = 'bold 12px system-ui';
    ctx.fillText(`${[...claimed].join(' and ')} claim to lead at once`, 8, 16);
  }
  // What the lane knows at the moment shown: answers still to come are not
  // drawn yet.
  const nowMs = state.t / 1000;
  const ops = rec.requests
    .filter(o => o.invoke_ms <= nowMs && (o.response_ms === null || o.response_ms >= nowMs - LANE_SPAN_MS))
    .map(o => (o.response_ms !== null && o.response_ms > nowMs ? { ...o, response_ms: null, result: null, verdict: null, bad: false } : o));
  const lane = { ops, broken: null };
  state.bars = drawHistory($('lane'), lane, nowMs, LANE_SPAN_MS);
  $('timeline').value = String(Math.round(state.t));
  $('now').textContent = `${(state.t / 1e6).toFixed(3)} s`;
  // The prints up to now, the latest last.
  const upto = lowerBound(rec.prints, state.t + 1);
  const shown = rec.prints.slice(Math.max(0, upto - 200), upto);
  const key = `${upto}`;
  if ($('prints').dataset.key !== key) {
    $('prints').dataset.key = key;
    $('prints').replaceChildren(...shown.map(p => {
      const li = document.createElement('li');
      li.textContent = `${(p.t / 1e6).toFixed(3)} [${p.replica} ${p.stream}] ${p.line}`;
      return li;
    }));
    $('prints').scrollTop = $('prints').scrollHeight;
  }
}

function frame(now) {
  const dt = state.last === null ? 0 : Math.min(100, now - state.last);
  state.last = now;
  if (state.playing && state.rec) {
    state.t = Math.min(state.rec.end, state.t + dt * 1000 * Number($('speed').value));
    if (state.t >= state.rec.end) { state.playing = false; showPlay(); }
  }
  draw();
  requestAnimationFrame(frame);
}

async function openText(text, name) {
  try {
    load(parseRecording(text), name);
  } catch (e) {
    banner(`${name} could not be opened: ${e.message}`);
  }
}

function main() {
  const play = () => { if (state.rec) { state.playing = !state.playing; showPlay(); } };
  $('play').addEventListener('click', play);
  $('step').addEventListener('click', step);
  document.addEventListener('keydown', e => {
    if (e.target instanceof HTMLInputElement && e.target.type === 'file') return;
    const jump = { ArrowLeft: -10000, ArrowRight: 10000 }[e.key];
    if (e.key === ' ') { e.preventDefault(); play(); }
    else if (e.key === '.') step();
    else if (jump && state.rec) { e.preventDefault(); state.t = Math.max(0, Math.min(state.rec.end, state.t + jump)); }
  });
  $('lane').addEventListener('click', e => {
    const r = $('lane').getBoundingClientRect();
    const x = e.clientX - r.left, y = e.clientY - r.top;
    const hit = (state.bars || []).find(b => x >= b.x0 - 2 && x <= b.x1 + 2 && y >= b.y0 && y <= b.y1);
    if (hit) $('datagram').textContent = describeRequest(hit.op);
  });
  $('timeline').addEventListener('input', () => { state.t = Number($('timeline').value); state.playing = false; showPlay(); });
  $('file').addEventListener('change', async () => { const f = $('file').files[0]; if (f) openText(await f.text(), f.name); });
  document.addEventListener('dragover', e => e.preventDefault());
  document.addEventListener('drop', async e => { e.preventDefault(); const f = e.dataTransfer.files[0]; if (f) openText(await f.text(), f.name); });
  $('ring').addEventListener('click', e => {
    const r = $('ring').getBoundingClientRect();
    const x = e.clientX - r.left, y = e.clientY - r.top;
    const hit = state.placed.find(p => Math.hypot(p.x - x, p.y - y) < 8);
    if (hit) $('datagram').textContent = `${hit.d.src} → ${hit.d.dst} at ${(hit.d.t / 1e6).toFixed(6)} s, ${hit.d.fate}\n${hit.d.json ? JSON.stringify(hit.d.json, null, 1) : hit.d.raw}`;
  });
  const url = new URLSearchParams(location.search).get('record');
  if (url) {
    fetch(url).then(r => { if (!r.ok) throw new Error(`HTTP ${r.status}`); return r.text(); })
      .then(t => openText(t, url))
      .catch(e => banner(`${url} could not be fetched: ${e.message}`));
  }
  window.recording = {
    state: () => ({ t: state.t, end: state.rec && state.rec.end, playing: state.playing }),
    placed: () => state.placed.map(p => ({ x: p.x, y: p.y, type: typeOf(p.d) })),
    bars: () => (state.bars || []).map(b => ({ x: (b.x0 + b.x1) / 2, y: (b.y0 + b.y1) / 2, mid: b.op.mid, verdict: b.op.verdict })),
    seek: t => { state.t = t; },
    // One frame's drawing at moment t (for the benchmark).
    drawAt: t => { state.t = t; draw(); },
  };
  requestAnimationFrame(frame);
}

main();
