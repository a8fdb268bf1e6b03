// A recorded run (`gradesim udp --record` or `gradesim sim --record`; the
// format is in the README, "Recording a real run"): parsed, checked, and
// indexed by time so that any moment is found by binary search, whatever
// the recording's size. What the ring, the history lane and the prints
// show at a moment comes from here; drawing is draw.js's, the page's
// controls are player.js's. No DOM.

// A datagram is drawn in flight for this much recorded time, µs: real
// datagrams take tens of µs, too short to see.
export const FLIGHT_US = 3000;
// The grader's verdicts the timeline marks red.
export const BAD = new Set(['wrong_value', 'duplicate', 'unanswered', 'incorrect']);

// Parses a recording's text; throws with a clear message if it is not one.
// A half-written last line (a run cut short) is left out.
export function parseRecording(text) {
  const lines = text.split('\n');
  if (!text.endsWith('\n')) lines.pop();
  const rec = { header: null, datagrams: [], faults: [], verdicts: [], prints: [], score: null };
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let v;
    try { v = JSON.parse(line); } catch { throw new Error(`line ${i + 1} is not JSON: not a recording`); }
    if (!rec.header && (v === null || v.kind !== 'header')) throw new Error('no header line: not a raftplay recording');
    switch (v.kind) {
      case 'header':
        if (v.format !== 'raftplay-recording') throw new Error('not a raftplay recording');
        if (!Array.isArray(v.replicas) || !v.replicas.length) throw new Error('the header names no replicas');
        rec.header = v;
        // A seed above 2^53 loses digits as a JavaScript number: keep its text.
        rec.seed = (line.match(/"seed"\s*:\s*"?(\d+)/) || [])[1] ?? String(v.seed);
        break;
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
  for (const list of [rec.datagrams, rec.prints, rec.verdicts, rec.faults]) list.sort(byT);
  rec.end = Math.max(1, ...[rec.datagrams, rec.prints, rec.verdicts, rec.faults].map(l => (l.length ? l[l.length - 1].t : 0)));
  rec.replicas = rec.header.replicas;
  rec.name = (rec.header.config && rec.header.config.name) || 'a run';
  rec.byMid = byMidOf(rec);
  rec.requests = requestsOf(rec);
  rec.bad = rec.verdicts.filter(v => BAD.has(v.verdict));
  rec.sends = sendsOf(rec);
  rec.log = logOf(rec);
  rec.types = typesOf(rec);
  return rec;
}

// Whether a file's text is meant as a recording (its first line is a
// recording's line), so a page that opens two formats can tell them apart.
export function looksLikeRecording(text) {
  const first = text.slice(0, text.indexOf('\n') >= 0 ? text.indexOf('\n') : text.length).trim();
  try {
    const v = JSON.parse(first);
    return v !== null && typeof v === 'object' && 'kind' in v;
  } catch {
    return false;
  }
}

// Each client request (by MID) as the history lane draws it: from its first
// send to the grader's last verdict on it (a redirect, unless the MID is
// answered again later), with the request's and the answer's JSON.
// Reads the datagrams by MID (rec.byMid).
export function requestsOf(rec) {
  const clients = new Set(rec.header.clients || []);
  const byMid = new Map();
  for (const [mid, path] of rec.byMid) {
    const sent = path.findIndex(d => clients.has(d.src));
    if (sent < 0) continue;
    const d = path[sent];
    const put = d.json.type === 'put' ? String(d.json.value) : null;
    const answers = path.slice(sent + 1).filter(a => clients.has(a.dst));
    const answer = answers.length ? answers[answers.length - 1].json : null;
    byMid.set(mid, { mid, client: d.src, key: String(d.json.key), put, invoke_ms: d.t / 1000, response_ms: null, result: null, verdict: null, request: d.json, answer });
  }
  for (const v of rec.verdicts) {
    const op = byMid.get(v.mid);
    if (!op) continue;
    if (v.verdict === 'duplicate') { op.duplicate = true; continue; }
    if (v.verdict === 'unanswered') { op.unanswered_ms = v.t / 1000; continue; }
    op.verdict = v.verdict;
    op.response_ms = v.t / 1000;
    op.result = v.verdict === 'wrong_value' ? v.got : (op.answer && op.answer.value);
    op.bad = BAD.has(v.verdict) || v.verdict === 'fail';
    op.expected = v.expected;
  }
  return [...byMid.values()].sort((a, b) => a.invoke_ms - b.invoke_ms);
}

// Per replica, what it had said of itself by each datagram it sent, in time
// order: the leader it last named and the last term it carried, if its
// protocol has one (carried forward, so a moment needs one lookup).
function sendsOf(rec) {
  const sends = new Map(rec.replicas.map(id => [id, []]));
  for (const d of rec.datagrams) {
    const mine = sends.get(d.src);
    if (!mine || !d.json) continue;
    const last = mine.length ? mine[mine.length - 1] : { leader: null, term: null };
    const leader = typeof d.json.leader === 'string' ? d.json.leader : last.leader;
    const term = Number.isInteger(d.json.term) ? d.json.term : last.term;
    mine.push({ t: d.t, leader, term });
  }
  return sends;
}

// The lines beside the canvas: the replicas' prints, the grader's faults
// and its red verdicts, in time order.
function logOf(rec) {
  const log = [
    ...rec.prints.map(p => ({ t: p.t, cls: `print ${p.stream}`, text: `[${p.replica} ${p.stream}] ${p.line}` })),
    ...rec.faults.map(f => ({ t: f.t, cls: 'fault', text: faultText(f) })),
    ...rec.bad.map(v => ({ t: v.t, cls: 'bad', text: verdictText(v) })),
  ];
  return log.sort((a, b) => a.t - b.t);
}

function faultText(f) {
  const killed = f.killed && f.killed.length ? `: ${f.killed.join(', ')} killed` : '';
  const kept = f.majority ? `: the majority kept is ${f.majority.join(', ')}` : '';
  return `grader: ${f.fault}${killed}${kept}`;
}

function verdictText(v) {
  if (v.verdict === 'wrong_value') return `grader: MID ${v.mid} got ${JSON.stringify(v.got)}, expected ${JSON.stringify(v.expected)}`;
  return `grader: MID ${v.mid} ${v.verdict}${v.why ? ` (${v.why})` : ''}`;
}

// What went wrong, in time order: the grader's red verdicts (an
// unanswered request at the moment it was sent, not at the end) and the
// diagnoses of the wire (`diagnoses`: [{t, what}] from the core's
// grader::diagnose, what `gradesim show` prints). Each {t, what, kind}.
export function problemsOf(rec, diagnoses) {
  const sent = new Map(rec.requests.map(o => [o.mid, o.invoke_ms * 1000]));
  const verdicts = rec.bad.map(v => ({
    t: v.verdict === 'unanswered' && sent.has(v.mid) ? sent.get(v.mid) : v.t,
    what: verdictText(v).replace(/^grader: /, 'the grader: '),
    kind: 'verdict',
    mid: v.mid,
  }));
  const seen = diagnoses.map(d => ({ t: d.t, what: d.what, kind: 'diagnosis' }));
  return [...seen, ...verdicts].sort((a, b) => a.t - b.t);
}

// The run's story for the strip above the ring, from the replicas' own
// datagrams: per replica, stretches in which it named itself leader
// ('leader'), named another ('follower') or named none ('none'), with the
// term it carried, then 'dead' from its kill; and stretches with no live
// replica claiming to lead ('none') or more than one ('two'). Each stretch
// {t0, t1, what, term}.
export function storyOf(rec) {
  const killedAt = new Map();
  for (const f of rec.faults) for (const id of f.killed || []) if (!killedAt.has(id)) killedAt.set(id, f.t);
  const rows = rec.replicas.map(id => {
    const stretches = [];
    for (const s of rec.sends.get(id)) {
      if (killedAt.has(id) && s.t >= killedAt.get(id)) break;
      const what = s.leader === id ? 'leader' : (s.leader === null || s.leader === 'FFFF' ? 'none' : 'follower');
      extend(stretches, s.t, what, s.term);
    }
    if (killedAt.has(id)) extend(stretches, killedAt.get(id), 'dead', null);
    return { id, stretches: close(stretches, rec.end) };
  });
  return { rows, leaders: close(leaderStretches(rec, killedAt), rec.end), rates: ratesOf(rec) };
}

// The strip's plots: the run cut into BUCKETS equal spans, and in each the
// datagrams the replicas sent, the requests answered ok, and the grader's
// red verdicts (an unanswered request where it was sent).
export const BUCKETS = 400;
function ratesOf(rec) {
  const span = rec.end / BUCKETS;
  const at = t => Math.min(BUCKETS - 1, Math.floor(t / span));
  const rates = { span, sent: new Array(BUCKETS).fill(0), ok: new Array(BUCKETS).fill(0), bad: new Array(BUCKETS).fill(0) };
  for (const d of rec.datagrams) if (rec.sends.has(d.src)) rates.sent[at(d.t)] += 1;
  for (const o of rec.requests) {
    if (o.verdict === 'ok') rates.ok[at(o.response_ms * 1000)] += 1;
    if (o.bad || o.unanswered_ms !== undefined) rates.bad[at(o.invoke_ms * 1000)] += 1;
  }
  return rates;
}

function extend(stretches, t, what, term) {
  const last = stretches[stretches.length - 1];
  if (last && last.what === what && last.term === term) return;
  if (last) last.t1 = t;
  stretches.push({ t0: t, t1: null, what, term });
}

function close(stretches, end) {
  if (stretches.length) stretches[stretches.length - 1].t1 = end;
  return stretches;
}

// How many live replicas claim to lead, over the run (as the ring counts
// them at a moment: each by the last datagram it sent).
function leaderStretches(rec, killedAt) {
  const claims = new Set();
  const stretches = [];
  const count = () => (claims.size === 0 ? 'none' : claims.size === 1 ? 'one' : 'two');
  const kills = [...killedAt].map(([id, t]) => ({ t, src: id, kill: true })).sort((a, b) => a.t - b.t);
  let k = 0;
  const killUpTo = t => {
    for (; k < kills.length && kills[k].t <= t; k++) {
      claims.delete(kills[k].src);
      extend(stretches, kills[k].t, count(), null);
    }
  };
  for (const d of rec.datagrams) {
    killUpTo(d.t);
    if (!rec.sends.has(d.src) || !d.json || typeof d.json.leader !== 'string' || killedAt.get(d.src) <= d.t) continue;
    if (d.json.leader === d.src) claims.add(d.src); else claims.delete(d.src);
    extend(stretches, d.t, count(), null);
  }
  killUpTo(Infinity);
  return stretches;
}

// The datagram types in the recording, most frequent first, each with a
// message of its kind for the legend's glyph (this project's protocol
// only).
function typesOf(rec) {
  const byType = new Map();
  for (const d of rec.datagrams) {
    const type = typeOf(d);
    const t = byType.get(type) || { type, count: 0, message: d.message };
    t.count += 1;
    byType.set(type, t);
  }
  return [...byType.values()].sort((a, b) => b.count - a.count);
}

export function typeOf(d) {
  return d.json && typeof d.json.type === 'string' ? d.json.type : '(not JSON)';
}

// The first index of `list` (sorted by t) with t >= t0.
export function lowerBound(list, t0) {
  let lo = 0, hi = list.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (list[mid].t < t0) lo = mid + 1; else hi = mid; }
  return lo;
}

// The moment after t at which the next datagram leaves, or the end.
export function nextDatagram(rec, t) {
  const i = lowerBound(rec.datagrams, t + 1);
  return i < rec.datagrams.length ? rec.datagrams[i].t : rec.end;
}

// What the ring shows at t (µs): each replica's last word on who leads
// and its term, who is dead, the partition, the datagrams in flight (sent
// within FLIGHT_US before t, with how far along they are).
export function momentAt(rec, t) {
  const replicas = rec.replicas.map(id => {
    const mine = rec.sends.get(id);
    const i = lowerBound(mine, t + 1) - 1;
    const { leader, term } = i >= 0 ? mine[i] : { leader: null, term: null };
    return { id, leader, term, claims: leader === id };
  });
  const past = rec.faults.slice(0, lowerBound(rec.faults, t + 1));
  const dead = new Set(past.flatMap(f => f.killed || []));
  // The latest partition fault: its majority, or null once healed.
  const split = past.filter(f => typeof f.fault === 'string' && f.fault.startsWith('part_')).pop();
  const majority = split && split.majority ? new Set(split.majority) : null;
  const flying = [];
  const to = lowerBound(rec.datagrams, t + 1);
  for (let i = lowerBound(rec.datagrams, t - FLIGHT_US); i < to; i++) {
    const d = rec.datagrams[i];
    flying.push({ d, type: typeOf(d), p: (t - d.t) / FLIGHT_US });
  }
  const leaders = replicas.filter(r => r.claims && !dead.has(r.id)).map(r => r.id);
  return { t, replicas, dead, majority, flying, leaders };
}

// The history lane at t (µs): requests sent by t, still running or answered
// within the last spanMs; answers still to come are not shown yet.
export function laneAt(rec, t, spanMs) {
  const nowMs = t / 1000;
  const ops = rec.requests
    .filter(o => o.invoke_ms <= nowMs && (o.response_ms === null || o.response_ms >= nowMs - spanMs))
    .map(o => {
      if (o.response_ms !== null && o.response_ms > nowMs) return { ...o, response_ms: null, result: null, verdict: null, bad: false };
      // Unanswered at the end: red once the grader says so.
      if (o.unanswered_ms !== undefined && o.unanswered_ms <= nowMs) return { ...o, verdict: 'unanswered', bad: true };
      return o;
    });
  return { ops, broken: null };
}

// The last `limit` lines of the log up to t, and how many there are.
export function logUpTo(rec, t, limit) {
  const upto = lowerBound(rec.log, t + 1);
  return { upto, lines: rec.log.slice(Math.max(0, upto - limit), upto) };
}

// Every datagram that carries a MID, by MID, in time order: a request's
// path (sent, forwarded, redirected, answered).
function byMidOf(rec) {
  const byMid = new Map();
  for (const d of rec.datagrams) {
    const mid = d.json && d.json.MID;
    if (typeof mid !== 'string') continue;
    if (!byMid.has(mid)) byMid.set(mid, []);
    byMid.get(mid).push(d);
  }
  return byMid;
}

// A request's path in words: each datagram that carries its MID (the
// first `limit`), and how many more.
export function pathOf(rec, mid, limit = 24) {
  const all = rec.byMid.get(mid) || [];
  const lines = all.slice(0, limit).map(d => `${(d.t / 1e6).toFixed(6)}  ${d.src} → ${d.dst}  ${typeOf(d)}${d.fate === 'delivered' ? '' : ` (${d.fate})`}`);
  if (all.length > limit) lines.push(`… and ${all.length - limit} more datagrams with this MID`);
  return `its path, ${all.length} datagram${all.length === 1 ? '' : 's'} with MID ${mid}:\n${lines.join('\n')}`;
}

// One request in words, for the inspector.
export function describeRequest(op) {
  const what = op.put !== null ? `put ${op.key}=${op.put}` : `get ${op.key}`;
  const verdict = op.verdict === 'wrong_value'
    ? `wrong value: got ${JSON.stringify(op.result)}, expected ${JSON.stringify(op.expected)}`
    : (op.verdict ?? (op.unanswered_ms !== undefined ? 'never answered (unanswered at the end)' : 'not answered yet'));
  return `${op.client}: ${what} (MID ${op.mid}), sent ${(op.invoke_ms / 1000).toFixed(6)} s: ${verdict}`
    + `${op.duplicate ? ', answered twice' : ''}\nrequest ${JSON.stringify(op.request)}\nanswer  ${op.answer ? JSON.stringify(op.answer) : '-'}`;
}

// One datagram in words, for the inspector and the tip.
export function describeDatagram(d) {
  return `${d.src} → ${d.dst} at ${(d.t / 1e6).toFixed(6)} s, ${d.fate}\n${d.json ? JSON.stringify(d.json, null, 1) : d.raw}`;
}

// The recording in one line, for the bar above the ring: its counts, and
// the grader's score with each metric's tier and any check that failed.
export function summaryOf(rec) {
  const counts = `${rec.datagrams.length} datagrams, ${rec.verdicts.length} verdicts (${rec.bad.length} red), ${rec.prints.length} printed lines; `;
  const s = rec.score;
  if (!s) return `${counts}the run ended before its score`;
  const tiers = Array.isArray(s.tiers) ? s.tiers : [];
  const metric = (name, value, i) => `${name} ${value}${tiers[i] ? ` (${tiers[i]})` : ''}`;
  const latency = typeof s.median_latency === 'number' ? `${(s.median_latency * 1000).toFixed(3)} ms` : '?';
  const failed = (s.checks || []).filter(c => !c.ok).map(c => `${c.name}: ${c.detail}`);
  return `${counts}score: ${s.passed ? 'PASS' : 'FAIL'}, ${[
    metric('total_msgs', s.total_msgs, 0), metric('failures', s.failures, 1),
    metric('duplicates', s.duplicates, 2), metric('median latency', latency, 3),
  ].join(', ')}${failed.length ? `; failed: ${failed.join('; ')}` : ''}`;
}

export function titleOf(rec) {
  const simulated = rec.header.source === 'sim' ? ', simulated' : '';
  return `${rec.name} (seed ${rec.seed}), ${rec.replicas.length} replicas${simulated}`;
}
