// Replaying in slices so that a long run never freezes the tab; a run as
// a file (export, import); a recording opened over the cluster.
import { Playground, WireDiagnoser } from './pkg/raftplay.js';
import { parseRecording, looksLikeRecording } from './recording.js';
import { $, REPLAY_BUDGET_MS, state, player, speed, showSpeed, banner, writeHash } from './state.js';
import { tip } from './view.js';
import { takeOver } from './story.js';
import { setPlaying, adopt, reread } from './app.js';

export function replayTo(targetMs, label, done) {
  state.replay = { target: targetMs, label, done, sliceMs: 200 };
  stepReplay();
}

export function stepReplay() {
  const r = state.replay;
  const pg = state.pg;
  const start = performance.now();
  try {
    while (pg.nowMs() < r.target && performance.now() - start < REPLAY_BUDGET_MS) {
      const t0 = performance.now();
      pg.seek(Math.min(r.target, pg.nowMs() + r.sliceMs));
      const took = performance.now() - t0;
      r.sliceMs = Math.max(1, Math.min(60000, r.sliceMs * (took < 5 ? 2 : took > 15 ? 0.5 : 1)));
    }
  } catch (e) {
    state.replay = null;
    banner(`The replay stopped: ${e.message}`);
    reread();
    return;
  }
  if (pg.nowMs() >= r.target) {
    state.replay = null;
    reread();
    if (r.done) r.done();
  } else {
    const pct = Math.floor((100 * pg.nowMs()) / Math.max(1, r.target));
    banner(`${r.label}: ${pct}% (${(pg.nowMs() / 1000).toFixed(1)} of ${(r.target / 1000).toFixed(1)} s)…`);
  }
}

export function exportRun() {
  const blob = new Blob([state.pg.exportRun()], { type: 'application/json' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = `raftplay-run-${(state.pg.nowMs() / 1000).toFixed(1)}s.json`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  banner('Exported: import it here, or print its events with `gradesim replay FILE`.');
}

// A file opened by import or dropped on the page: a recording, or a run
// exported from this page.
export async function openFile(file) {
  const text = await file.text();
  if (looksLikeRecording(text)) openRecording(text, file.name);
  else importRun(text, file.name);
}

export async function importRun(text, name) {
  let record;
  try {
    record = Playground.parseRun(text);
    adopt(Playground.restoreAtStart(record));
  } catch (e) {
    banner(`${name} could not be opened: ${e.message}`);
    return;
  }
  closeRecording();
  setPlaying(false);
  replayTo(record.time / 1000, `Opening ${name}`, () => banner(`Opened ${name}, paused at the moment it was saved.`));
}

// Opens a recording's text; a file that is not one says why, and whatever
// was shown stays.
export function openRecording(text, name) {
  let rec, diagnoses;
  try {
    rec = parseRecording(text);
    diagnoses = diagnose(rec);
  } catch (e) {
    banner(`${name} could not be opened: ${e.message}`);
    return;
  }
  setPlaying(false);
  state.replay = null;
  tip(null);
  banner(player.open(rec, name, diagnoses));
  // Real datagrams are tens of µs apart: start at the slowest speed.
  $('speed').value = '0';
  showSpeed();
}

// What the wire shows in `rec` (the core's grader::diagnose, as `gradesim
// show` prints it): [{t, what}].
function diagnose(rec) {
  const d = new WireDiagnoser(rec.replicas);
  const text = v => (typeof v === 'string' ? v : undefined);
  for (const g of rec.datagrams) {
    const j = g.json || {};
    const term = Number.isInteger(j.term) && j.term >= 0 ? j.term : undefined;
    d.datagram(g.t, String(g.src), String(g.dst), g.fate === 'delivered', text(j.type) ?? 'not JSON',
      text(j.MID), text(j.leader), term, j.pre === true);
  }
  const max = rec.header.config && rec.header.config.max_packets;
  return d.finish(Number.isInteger(max) ? max : undefined, rec.score && Number.isInteger(rec.score.total_msgs) ? rec.score.total_msgs : undefined);
}

export function closeRecording() {
  if (!player.active) return;
  player.close();
  setPlaying(false);
  if (new URLSearchParams(location.search).has('record')) writeHash('');
  reread();
  banner('Back to the simulated cluster, paused. Press space to play.');
}

export function fetchRecording(url) {
  banner(`Fetching ${url}…`);
  fetch(url)
    .then(r => { if (!r.ok) throw new Error(`HTTP ${r.status}`); return r.text(); })
    .then(t => openRecording(t, url))
    .catch(e => banner(`${url} could not be fetched: ${e.message}`));
}

export function seekTo(ms, then) {
  takeOver('you moved to another moment of the run');
  setPlaying(false);
  if (ms < state.pg.nowMs()) state.pg.rewind();
  replayTo(ms, 'Replaying to that moment', () => { banner(''); if (then) then(); });
}
