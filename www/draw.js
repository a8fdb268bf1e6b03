// Drawing of the cluster, the logs and the legend on canvases. Pure
// functions of a view; shared by the page (app.js) and the benchmark.

// Okabe-Ito, colour-blind safe; terms cycle through it.
export const PALETTE = ['#E69F00', '#56B4E9', '#009E73', '#F0E442', '#0072B2', '#D55E00', '#CC79A7', '#000000'];

export function termColour(term) {
  return term === 0 ? '#c8c8c8' : PALETTE[(term - 1) % PALETTE.length];
}

// Sizes the canvas to its box at the device's pixel ratio; returns the
// context (in CSS pixels) and the size.
export function fitCanvas(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  const pw = Math.round(w * dpr), ph = Math.round(h * dpr);
  if (canvas.width !== pw || canvas.height !== ph) {
    canvas.width = pw;
    canvas.height = ph;
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  return { ctx, w, h };
}

// Node centres on a ring, S1 at the top, clockwise. A node's crown and
// selection ring above it and its label below need about its radius plus
// MARGIN, so on a short, wide canvas the ring flattens into an ellipse
// rather than shrinking until the nodes overlap.
export function layout(n, w, h) {
  const MARGIN = 36;
  const cx = w / 2, cy = h / 2;
  const round = Math.min(w, h) * 0.36;
  const radius = Math.max(14, Math.min(34, round * Math.sin(Math.PI / n) * 0.55));
  const ry = Math.max(20, Math.min(round, h / 2 - radius - MARGIN));
  const rx = ry < round ? Math.max(ry, Math.min(w / 2 - radius - 30, 1.8 * round * Math.sqrt(round / ry))) : round;
  const centres = [];
  for (let i = 0; i < n; i++) {
    const a = -Math.PI / 2 + (2 * Math.PI * i) / n;
    centres.push({ x: cx + rx * Math.cos(a), y: cy + ry * Math.sin(a) });
  }
  return { centres, radius };
}

function diamond(ctx, x, y, s, fill) {
  ctx.beginPath();
  ctx.moveTo(x, y - s); ctx.lineTo(x + s, y); ctx.lineTo(x, y + s); ctx.lineTo(x - s, y); ctx.closePath();
  fill ? ctx.fill() : ctx.stroke();
}

function triangle(ctx, x, y, up, fill) {
  const d = up ? 1 : -1;
  ctx.beginPath(); ctx.moveTo(x - 6, y + 5 * d); ctx.lineTo(x + 6, y + 5 * d); ctx.lineTo(x, y - 6 * d); ctx.closePath();
  fill ? ctx.fill() : ctx.stroke();
}

// Black or white, whichever reads better on `hex` (WCAG relative luminance).
export function textOn(hex) {
  const c = [1, 3, 5].map(i => parseInt(hex.slice(i, i + 2), 16) / 255)
    .map(v => (v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4)));
  const l = 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  return (l + 0.05) / 0.05 > 1.05 / (l + 0.05) ? '#000' : '#fff';
}

// Every message kind the model names (raft::MessageKind), with its glyph's
// description for the legend. Drawn by drawGlyph; no kind is left out.
export const KINDS = {
  RequestVote: 'filled diamond',
  PreVote: 'hollow diamond',
  RequestVoteResponse: 'dot: filled granted, hollow denied',
  PreVoteResponse: 'small dot: filled granted, hollow denied',
  AppendEntries: 'square with its entry count',
  Heartbeat: 'small square (AppendEntries without entries)',
  AppendEntriesResponse: 'ring with + (matched) or − (rejected)',
  Forward: 'triangle: a deposed leader hands its clients’ commands on (beyond the paper)',
  Probe: 'hollow triangle, point down: a follower asks its leader for a sign of life (beyond the paper)',
  Commit: 'ring with a bar: the leader’s commit index (beyond the paper)',
};

// Why a message will not arrive (sim::Loss), as the page says it.
export const LOSSES = {
  dropped: 'dropped at random',
  partitioned: 'cut off by a partition',
  dead: 'its receiver is down',
  sender_crashed: 'its sender crashed before it left',
  overflow: 'the receiving socket was full',
  displaced: 'pushed off its link by a newer message',
};

// A message's glyph (KINDS), in its term's colour unless told another.
export function drawGlyph(ctx, m, x, y, colour = termColour(m.term)) {
  ctx.fillStyle = colour;
  ctx.strokeStyle = colour;
  ctx.lineWidth = 2;
  switch (m.kind) {
    case 'RequestVote': diamond(ctx, x, y, 7, true); break;
    case 'PreVote': diamond(ctx, x, y, 7, false); break;
    case 'RequestVoteResponse':
      ctx.beginPath(); ctx.arc(x, y, 5, 0, 2 * Math.PI);
      m.ok ? ctx.fill() : ctx.stroke();
      break;
    case 'PreVoteResponse':
      ctx.beginPath(); ctx.arc(x, y, 3.5, 0, 2 * Math.PI);
      m.ok ? ctx.fill() : ctx.stroke();
      break;
    case 'AppendEntries':
      ctx.fillRect(x - 8, y - 8, 16, 16);
      ctx.fillStyle = textOn(colour);
      ctx.font = 'bold 10px system-ui';
      ctx.textAlign = 'center'; ctx.textBaseline = 'middle';
      ctx.fillText(String(m.entries), x, y + 0.5);
      break;
    case 'Heartbeat': ctx.fillRect(x - 4, y - 4, 8, 8); break;
    case 'AppendEntriesResponse':
      ctx.beginPath(); ctx.arc(x, y, 6, 0, 2 * Math.PI); ctx.stroke();
      ctx.beginPath();
      ctx.moveTo(x - 3, y); ctx.lineTo(x + 3, y);
      if (m.ok) { ctx.moveTo(x, y - 3); ctx.lineTo(x, y + 3); }
      ctx.stroke();
      break;
    case 'Forward': triangle(ctx, x, y, true, true); break;
    case 'Probe': triangle(ctx, x, y, false, false); break;
    case 'Commit':
      ctx.beginPath(); ctx.arc(x, y, 6, 0, 2 * Math.PI); ctx.stroke();
      ctx.fillRect(x - 3.5, y - 1, 7, 2);
      break;
    default:
      throw new Error(`no glyph for message kind ${m.kind}`);
  }
}

function drawMessage(ctx, m, x, y, alpha) {
  ctx.globalAlpha = alpha;
  drawGlyph(ctx, m, x, y);
  ctx.globalAlpha = 1;
}

// The legend: one row per message kind, its glyph drawn as on the ring.
export function fillLegend(list) {
  list.replaceChildren();
  for (const [kind, text] of Object.entries(KINDS)) {
    const li = document.createElement('li');
    const c = document.createElement('canvas');
    c.width = 22; c.height = 22;
    c.setAttribute('aria-hidden', 'true');
    drawGlyph(c.getContext('2d'), { kind, term: 2, ok: true, entries: 3 }, 11, 11);
    const b = document.createElement('b');
    b.textContent = kind;
    li.append(c, b, ` ${text}`);
    li.dataset.kind = kind;
    list.append(li);
  }
  const lost = document.createElement('li');
  lost.dataset.kind = 'lost';
  lost.textContent = 'faded: will not arrive (dropped; cut by a partition or a cut link, also when already in flight as it starts; or its receiver is down)';
  list.append(lost);
}

// Links between every pair of nodes: faint, or dashed red where `cut(a, b)`.
function drawLinks(ctx, centres, cut) {
  for (let a = 0; a < centres.length; a++) {
    for (let b = a + 1; b < centres.length; b++) {
      const isCut = cut(a, b);
      ctx.beginPath();
      ctx.moveTo(centres[a].x, centres[a].y);
      ctx.lineTo(centres[b].x, centres[b].y);
      ctx.setLineDash(isCut ? [6, 5] : []);
      ctx.strokeStyle = isCut ? 'rgba(192,57,43,0.8)' : 'rgba(0,0,0,0.07)';
      ctx.lineWidth = isCut ? 1.5 : 1;
      ctx.stroke();
    }
  }
  ctx.setLineDash([]);
}

// The red x on a message that will not arrive.
function lostMark(ctx, x, y, alpha) {
  ctx.globalAlpha = alpha;
  ctx.strokeStyle = '#c0392b'; ctx.lineWidth = 2;
  ctx.beginPath(); ctx.moveTo(x - 5, y - 5); ctx.lineTo(x + 5, y + 5); ctx.moveTo(x + 5, y - 5); ctx.lineTo(x - 5, y + 5); ctx.stroke();
  ctx.globalAlpha = 1;
}

// The leader's crown, above its node.
function crown(ctx, x, y, radius) {
  const top = y - radius - 10;
  ctx.beginPath();
  ctx.moveTo(x - 10, top + 6); ctx.lineTo(x - 10, top - 4); ctx.lineTo(x - 5, top + 1); ctx.lineTo(x, top - 6);
  ctx.lineTo(x + 5, top + 1); ctx.lineTo(x + 10, top - 4); ctx.lineTo(x + 10, top + 6); ctx.closePath();
  ctx.fillStyle = '#E69F00'; ctx.fill(); ctx.strokeStyle = '#7a5200'; ctx.lineWidth = 1; ctx.stroke();
}

// The grey cross on a node that is down.
function downCross(ctx, x, y, radius) {
  ctx.strokeStyle = '#5b6570'; ctx.lineWidth = 3;
  const d = radius * 0.55;
  ctx.beginPath(); ctx.moveTo(x - d, y - d); ctx.lineTo(x + d, y + d); ctx.moveTo(x + d, y - d); ctx.lineTo(x - d, y + d); ctx.stroke();
}

// The dotted ring around the selected node.
function selectionRing(ctx, x, y, radius) {
  ctx.beginPath(); ctx.arc(x, y, radius + 13, 0, 2 * Math.PI);
  ctx.strokeStyle = '#0072B2'; ctx.lineWidth = 1.5; ctx.setLineDash([2, 3]); ctx.stroke(); ctx.setLineDash([]);
}

// The red ring around a node something is wrong with.
function redRing(ctx, x, y, radius) {
  ctx.beginPath(); ctx.arc(x, y, radius + 9, 0, 2 * Math.PI);
  ctx.strokeStyle = '#c0392b'; ctx.lineWidth = 3; ctx.stroke();
}

// Where a message is drawn, p of the way along its trip (0..1), and how
// opaque: a lost one stops halfway and fades.
function along(from, to, p, lost) {
  const travel = lost ? Math.min(p, 0.5) : p;
  const alpha = lost && p > 0.5 ? Math.max(0, 1 - (p - 0.5) * 2) : 1;
  return { x: from.x + (to.x - from.x) * travel, y: from.y + (to.y - from.y) * travel, alpha };
}

// view: { nodes, messages, cuts (Set of "a-b"), nowMs, selected, group (Set), electionMaxMs, heartbeatMs,
//         names (Map id -> a scenario's name for the node, or undefined) }
export function drawCluster(canvas, view) {
  const { ctx, w, h } = fitCanvas(canvas);
  const n = view.nodes.length;
  const { centres, radius } = layout(n, w, h);
  // Room between neighbours on the ring, for the labels under the nodes.
  const gap = n > 1 ? Math.hypot(centres[1].x - centres[0].x, centres[1].y - centres[0].y) : w;
  drawLinks(ctx, centres, (a, b) => view.cuts.has(`${a}-${b}`) || view.cuts.has(`${b}-${a}`));
  // Messages in flight; lost ones fade from halfway with an x.
  const placed = [];
  for (const m of view.messages) {
    const span = Math.max(1e-6, m.arrives_ms - m.sent_ms);
    const p = Math.min(1, Math.max(0, (view.nowMs - m.sent_ms) / span));
    const { x, y, alpha } = along(centres[m.from], centres[m.to], p, m.lost);
    drawMessage(ctx, m, x, y, alpha);
    placed.push({ x, y, m });
    if (m.lost && p > 0.5) lostMark(ctx, x, y, alpha);
  }
  for (const node of view.nodes) drawNode(ctx, node, centres[node.id], radius, gap, view);
  return { centres, placed, radius };
}

// One node on the ring at its centre {x, y}: its election timer's arc, its
// disc in its term's colour, the crown, cross, selection and alarm rings,
// its name, term, role and vote (on two lines when `gap`, the room to its
// neighbour, is short).
function drawNode(ctx, node, { x, y }, radius, gap, view) {
  const colour = node.alive ? termColour(node.term) : '#9aa0a6';
  if (node.alive && node.role !== 'leader' && view.electionMaxMs > 0) {
    const left = Math.max(0, Math.min(1, (node.election_deadline_ms - view.nowMs) / view.electionMaxMs));
    ctx.beginPath();
    ctx.arc(x, y, radius + 7, -Math.PI / 2, -Math.PI / 2 + 2 * Math.PI * left);
    ctx.strokeStyle = 'rgba(0,0,0,0.35)'; ctx.lineWidth = 3; ctx.stroke();
  }
  ctx.beginPath();
  ctx.arc(x, y, radius, 0, 2 * Math.PI);
  ctx.fillStyle = node.alive ? colour + '40' : '#e3e5e8';
  ctx.fill();
  ctx.strokeStyle = colour;
  ctx.lineWidth = node.role === 'leader' ? 6 : 2;
  if (node.role === 'candidate' || node.role === 'precandidate') ctx.setLineDash([5, 4]);
  ctx.stroke();
  ctx.setLineDash([]);
  if (node.role === 'leader') crown(ctx, x, y, radius);
  if (!node.alive) downCross(ctx, x, y, radius);
  if (view.selected === node.id) selectionRing(ctx, x, y, radius);
  if (view.alarm && view.alarm.has(node.id)) redRing(ctx, x, y, radius); // named by a broken check
  if (view.group.has(node.id)) {
    ctx.fillStyle = '#c0392b';
    ctx.beginPath(); ctx.arc(x + radius * 0.8, y - radius * 0.8, 5, 0, 2 * Math.PI); ctx.fill();
  }
  ctx.fillStyle = '#1b1f24';
  ctx.textAlign = 'center'; ctx.textBaseline = 'middle';
  ctx.font = `bold ${Math.round(radius * 0.55)}px system-ui`;
  ctx.fillText(`S${node.id + 1}`, x, y - radius * 0.18);
  // A scenario's own name for the node (Figure 8's A to E), above it.
  const called = view.names && view.names.get(node.id);
  if (called) {
    ctx.font = `bold ${Math.max(11, Math.round(radius * 0.45))}px system-ui`;
    ctx.fillStyle = '#7b61b3';
    ctx.textAlign = 'right';
    ctx.fillText(called, x - radius - 6, y - radius * 0.6);
    ctx.textAlign = 'center';
    ctx.fillStyle = '#1b1f24';
  }
  ctx.font = `${Math.max(9, Math.round(radius * 0.32))}px system-ui`;
  ctx.fillText(`term ${node.term}`, x, y + radius * 0.38);
  ctx.fillStyle = '#5b6570';
  const voted = node.alive && node.voted_for !== null && node.role !== 'leader' ? `voted S${node.voted_for + 1}` : '';
  const role = node.alive ? node.role : 'crashed';
  // On two lines when one would run into the neighbour's.
  if (voted && ctx.measureText(`${role} · ${voted}`).width > gap - 8) {
    ctx.fillText(role, x, y + radius + 20);
    ctx.fillText(voted, x, y + radius + 31);
  } else {
    ctx.fillText(voted ? `${role} · ${voted}` : role, x, y + radius + 22);
  }
}

// logs: [{terms: [...], keys: [...]}] per node; nodes: node views. Returns
// the layout, for hovering: { top, left, row, cell, first }.
export function drawLogs(canvas, nodes, logs) {
  const { ctx, w, h } = fitCanvas(canvas);
  const n = nodes.length;
  const top = 14; // a row of indices above the logs
  const row = Math.min(24, (h - top - 8) / n);
  const cell = Math.max(6, Math.min(16, row - 6));
  const left = 30;
  const fit = Math.max(1, Math.floor((w - left - 6) / (cell + 1)));
  const longest = Math.max(1, ...logs.map(l => (l ? l.terms.length : 0)));
  const first = Math.max(1, longest - fit + 1); // show the newest entries that fit
  const leader = nodes.find(v => v.role === 'leader' && v.alive);
  const progress = new Map((leader ? leader.progress : []).map(p => [p.peer, p]));
  ctx.font = '10px system-ui';
  ctx.textBaseline = 'middle';
  ctx.fillStyle = '#5b6570';
  ctx.textAlign = 'center';
  const step = cell >= 12 ? 5 : 10;
  for (let i = first; i < first + fit && i <= longest; i++) {
    if (i === first || i % step === 0) ctx.fillText(String(i), left + (i - first) * (cell + 1) + cell / 2, 6);
  }
  ctx.font = '11px system-ui';
  const g = { top, left, row, cell, first, w };
  for (const node of nodes) drawLogRow(ctx, node, logs[node.id] ? logs[node.id].terms : [], progress.get(node.id), g);
  return { top, left, row, cell, first };
}

// One node's row of the logs at geometry `g`: its name, a cell per entry
// (solid once committed, its term printed when there is room, dashed while
// its commit index is unknown), the commit caret, and the leader's match
// and next index for it (`p`, if the leader tracks it).
function drawLogRow(ctx, node, terms, p, g) {
  const { top, left, row, cell, first, w } = g;
  const y = top + node.id * row;
  ctx.fillStyle = node.alive ? '#1b1f24' : '#9aa0a6';
  ctx.textAlign = 'left';
  ctx.fillText(`S${node.id + 1}`, 4, y + cell / 2);
  const unknown = node.alive && !node.commit_known;
  // Each cell prints its term, as the paper's figures do, when there is
  // room for it.
  const printed = cell >= 11;
  ctx.textAlign = 'center';
  for (let i = first; i <= terms.length; i++) {
    const x = left + (i - first) * (cell + 1);
    const colour = termColour(terms[i - 1]);
    const solid = i <= node.commit;
    if (solid) {
      ctx.fillStyle = colour; ctx.fillRect(x, y, cell, cell);
    } else {
      ctx.strokeStyle = colour; ctx.lineWidth = 1.5;
      if (unknown) ctx.setLineDash([2, 2]);
      ctx.strokeRect(x + 0.75, y + 0.75, cell - 1.5, cell - 1.5);
      ctx.setLineDash([]);
    }
    if (printed) {
      ctx.font = `${terms[i - 1] > 99 ? 7 : 9}px system-ui`;
      ctx.fillStyle = solid ? '#ffffff' : '#1b1f24';
      ctx.fillText(String(terms[i - 1]), x + cell / 2, y + cell / 2 + 0.5);
    }
  }
  ctx.font = '11px system-ui';
  if (unknown && terms.length) {
    ctx.fillStyle = '#5b6570'; ctx.textAlign = 'left';
    const x = left + Math.max(0, terms.length - first + 1) * (cell + 1) + 4;
    ctx.fillText('commit index unknown (volatile)', Math.min(x, w - 170), y + cell / 2);
  }
  if (node.commit >= first) { // commit caret
    const x = left + (node.commit - first) * (cell + 1) + cell / 2;
    ctx.fillStyle = '#1b1f24';
    ctx.beginPath(); ctx.moveTo(x, y + cell + 1); ctx.lineTo(x - 3, y + cell + 5); ctx.lineTo(x + 3, y + cell + 5); ctx.fill();
  }
  if (p) { // the leader's match (a bar over the entry) and next index (a
    // cursor where the next entry it sends goes): markers, not cells
    const mx = left + (p.matched - first) * (cell + 1);
    if (p.matched >= first) { ctx.fillStyle = '#009E73'; ctx.fillRect(mx, y - 3, cell, 2); }
    const nx = left + (p.next - first) * (cell + 1);
    if (p.next >= first && nx < w) {
      ctx.fillStyle = '#0072B2';
      ctx.fillRect(nx - 1, y - 2, 2, cell + 4);
      ctx.beginPath(); ctx.moveTo(nx - 4, y - 5); ctx.lineTo(nx + 4, y - 5); ctx.lineTo(nx, y - 1); ctx.fill();
    }
  }
}

// The client history lane: each operation a bar from invocation to answer
// (or to now, hatched, while unanswered), in the window [now - spanMs, now],
// stacked so bars never overlap; the smallest set of operations that
// cannot be ordered is outlined red, and so is an operation marked `bad` (a recording's wrong get or
// fail, labelled with what was `expected`). Returns the bars, for clicks:
// [{x0, x1, y0, y1, op}].
export function drawHistory(canvas, lane, nowMs, spanMs) {
  const { ctx, w, h } = fitCanvas(canvas);
  const left = 4, right = w - 4;
  const t0 = nowMs - spanMs;
  const x = t => left + ((t - t0) / spanMs) * (right - left);
  const rows = 3, rowH = Math.max(8, (h - 4) / rows);
  const ends = new Array(rows).fill(-Infinity);
  const bars = [];
  ctx.font = '10px system-ui';
  ctx.textBaseline = 'middle';
  for (const op of lane.ops) {
    const end = op.response_ms ?? nowMs;
    const x0 = Math.max(left, x(op.invoke_ms)), x1 = Math.max(x0 + 3, Math.min(right, x(end)));
    // The first row free at x0 (a bar's label counts as taken space); if
    // none, the least crowded row, and the bar goes unlabelled.
    const text = label(op);
    const width = Math.max(x1 - x0, ctx.measureText(text).width + 4);
    let row = ends.findIndex(e => e < x0 - 2);
    const labelled = row >= 0;
    if (!labelled) row = ends.indexOf(Math.min(...ends));
    ends[row] = Math.max(ends[row], labelled ? x0 + width : x1);
    const y0 = 2 + row * rowH, y1 = y0 + rowH - 2;
    const done = op.response_ms !== null;
    ctx.fillStyle = op.bad ? '#f5b7b1' : op.verdict === 'redirect' ? '#f3e3a1' : done ? (op.put !== null ? '#9fd8b5' : '#a9cdef') : '#e3e5e8';
    ctx.fillRect(x0, y0, x1 - x0, y1 - y0);
    if (op.bad) { ctx.strokeStyle = '#c0392b'; ctx.lineWidth = 2; ctx.strokeRect(x0, y0, x1 - x0, y1 - y0); }
    if (!done) { ctx.strokeStyle = '#9aa0a6'; ctx.setLineDash([3, 2]); ctx.strokeRect(x0 + 0.5, y0 + 0.5, x1 - x0 - 1, y1 - y0 - 1); ctx.setLineDash([]); }
    if (op.unorderable) { ctx.strokeStyle = '#c0392b'; ctx.lineWidth = 2; ctx.strokeRect(x0, y0, x1 - x0, y1 - y0); }
    if (labelled) {
      ctx.fillStyle = '#1b1f24';
      ctx.textAlign = 'left';
      ctx.fillText(text, x0 + 2, (y0 + y1) / 2);
    }
    bars.push({ x0, x1, y0, y1, op });
  }
  return bars;
}

function label(op) {
  if (op.verdict === 'redirect') return `${op.put !== null ? 'put' : 'get'} ${op.key}: redirect`;
  if (op.verdict === 'wrong_value') return `get ${op.key} → ${JSON.stringify(op.result)}, expected ${JSON.stringify(op.expected)}`;
  if (op.put !== null) return `put ${op.key}=${op.put}`;
  return op.response_ms === null ? `get ${op.key} …` : `get ${op.key} → ${JSON.stringify(op.result)}`;
}

// ----- a recorded run (recording.js's moments) ----------------------------------

// A colour per datagram type, the same in every recording: the course's
// client types and this project's replica types fixed, any other type
// hashed from its name.
const TYPE_COLOURS = {
  get: '#0072B2', put: '#009E73', ok: '#2e8b57', fail: '#c0392b', redirect: '#E69F00',
  append: '#56B4E9', append_reply: '#0b4f7a', vote: '#CC79A7', vote_reply: '#8e4a73',
  forward: '#D55E00', probe: '#7a5ca8', commit: '#1b1f24', hello: '#9aa0a6',
};

export function typeColour(type) {
  if (TYPE_COLOURS[type]) return TYPE_COLOURS[type];
  let h = 0;
  for (const c of type) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return `hsl(${h % 360}, 60%, 42%)`;
}

// The course's client types: a disc with a letter.
const CLIENT_LETTERS = { get: 'g', put: 'p', ok: '✓', fail: '✗', redirect: '↪' };

// A datagram's glyph: the course's client types a lettered disc, this
// project's replica messages (`message`: the recorder's decoding, with
// the playground's `kind`, `entries` and `ok`) their playground glyph, any
// other type a dot labelled with its name (`label`), each in its type's
// colour. Returns whether it labelled it.
export function drawDatagram(ctx, type, message, x, y, label) {
  const colour = typeColour(type);
  ctx.fillStyle = colour;
  ctx.strokeStyle = colour;
  ctx.lineWidth = 2;
  const letter = CLIENT_LETTERS[type];
  if (letter) {
    ctx.beginPath(); ctx.arc(x, y, 7, 0, 2 * Math.PI); ctx.fill();
    ctx.fillStyle = '#fff'; ctx.font = 'bold 10px system-ui'; ctx.textAlign = 'center'; ctx.textBaseline = 'middle';
    ctx.fillText(letter, x, y + 0.5);
    return false;
  }
  if (message && KINDS[message.kind]) {
    drawGlyph(ctx, message, x, y, colour);
    return false;
  }
  ctx.beginPath(); ctx.arc(x, y, 5, 0, 2 * Math.PI); ctx.fill();
  if (label) {
    ctx.font = '10px system-ui'; ctx.textAlign = 'left'; ctx.textBaseline = 'middle';
    ctx.fillText(type, x + 7, y - 7);
  }
  return true;
}

// The legend of a recording: one row per datagram type it holds.
export function fillTypeLegend(list, types) {
  list.replaceChildren(...types.map(({ type, count, message }) => {
    const li = document.createElement('li');
    const c = document.createElement('canvas');
    c.width = 22; c.height = 22;
    c.setAttribute('aria-hidden', 'true');
    drawDatagram(c.getContext('2d'), type, message, 11, 11, false);
    li.dataset.type = type;
    li.append(c, ` ${type} (${count})`);
    return li;
  }));
}

// A recorded moment (recording.js momentAt) on the ring: the replicas by
// their IDs, coloured by the term they last carried if their protocol has
// one, with the leader each names below it, a crown on each that names
// itself, a red ring on every one of them when two claim at once; killed
// replicas grey with a cross; a partition's cut links dashed red as in the
// playground; datagrams in flight, lost ones fading with an x. Returns the
// centres and the placed datagrams, for clicks: [{x, y, d}].
export function drawRecording(canvas, moment, selected) {
  const { ctx, w, h } = fitCanvas(canvas);
  const ids = moment.replicas.map(r => r.id);
  const { centres, radius } = layout(ids.length, w, h);
  const cutOff = moment.majority;
  drawLinks(ctx, centres, (a, b) => cutOff !== null && cutOff.has(ids[a]) !== cutOff.has(ids[b]));
  const at = id => {
    const i = ids.indexOf(id);
    return i >= 0 ? centres[i] : { x: w / 2, y: h / 2 }; // clients: the centre
  };
  const placed = [];
  const labelled = new Set(); // one label per invented type is enough
  for (const { d, type, p } of moment.flying) {
    const lost = d.fate !== 'delivered';
    const { x, y, alpha } = along(at(d.src), at(d.dst), p, lost);
    ctx.globalAlpha = alpha;
    if (drawDatagram(ctx, type, d.message, x, y, !labelled.has(type))) labelled.add(type);
    ctx.globalAlpha = 1;
    if (lost && p > 0.5) lostMark(ctx, x, y, alpha);
    placed.push({ x, y, d });
  }
  const twoLeaders = moment.leaders.length > 1;
  moment.replicas.forEach((r, i) => {
    const { x, y } = centres[i];
    const dead = moment.dead.has(r.id);
    const colour = dead ? '#9aa0a6' : r.term !== null ? termColour(r.term) : '#0072B2';
    ctx.beginPath(); ctx.arc(x, y, radius, 0, 2 * Math.PI);
    ctx.fillStyle = dead ? '#e3e5e8' : colour + (colour.startsWith('#') ? '40' : '');
    ctx.fill();
    const leads = r.claims && !dead;
    ctx.lineWidth = leads ? 6 : 2;
    ctx.strokeStyle = colour; ctx.stroke();
    if (leads) crown(ctx, x, y, radius);
    if (leads && twoLeaders) redRing(ctx, x, y, radius);
    if (dead) downCross(ctx, x, y, radius);
    if (selected === r.id) selectionRing(ctx, x, y, radius);
    ctx.fillStyle = '#1b1f24'; ctx.textAlign = 'center'; ctx.textBaseline = 'middle';
    ctx.font = `bold ${Math.round(radius * 0.5)}px system-ui`;
    ctx.fillText(r.id, x, r.term !== null ? y - radius * 0.18 : y);
    if (r.term !== null) {
      ctx.font = `${Math.max(9, Math.round(radius * 0.32))}px system-ui`;
      ctx.fillText(`term ${r.term}`, x, y + radius * 0.38);
    }
    ctx.font = '11px system-ui'; ctx.fillStyle = '#5b6570';
    ctx.fillText(dead ? 'killed' : `leader: ${r.leader === null ? '?' : r.leader}`, x, y + radius + 14);
  });
  ctx.textAlign = 'left'; ctx.textBaseline = 'alphabetic';
  if (cutOff) {
    ctx.fillStyle = '#5b6570'; ctx.font = '12px system-ui';
    ctx.fillText(`partitioned: ${ids.filter(id => !cutOff.has(id)).join(', ')} cut off from ${[...cutOff].join(', ')}`, 8, h - 10);
  }
  if (twoLeaders) {
    ctx.fillStyle = '#c0392b'; ctx.font = 'bold 12px system-ui';
    ctx.fillText(`${moment.leaders.join(' and ')} claim to lead at once`, 8, 16);
  }
  return { centres, placed, radius };
}
