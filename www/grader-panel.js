// The course grader in the page: a config run with the grader's
// workload, faults and scoring, its metrics counting up live with their
// units and each tier's bounds, its replicas drawn on the ring while it
// runs (view.js reads `graderRing`).
import { GraderRun, graderConfigs, graderConfigText } from './pkg/raftplay.js';
import { $, REPLAY_BUDGET_MS, state } from './state.js';

export const METRICS = ['total_msgs', 'failures', 'duplicates', 'median_latency'];

export function openGrader(name) {
  $('grader').hidden = false;
  if (name) {
    if (!graderConfigs().includes(name)) {
      $('grader-out').textContent = `There is no built-in config ${name}; they are ${graderConfigs().join(', ')}.`;
      return;
    }
    $('grader-config').value = name;
    runGrader();
  }
}

// Starts a run of the chosen config (or file): its metrics count up each
// frame; at the end, the grader's line as gradesim sim prints it.
export async function runGrader() {
  const file = $('grader-file').files[0];
  let name, text;
  if (file) {
    name = file.name.replace(/\.json$/, '');
    text = await file.text();
  } else {
    name = $('grader-config').value;
    text = graderConfigText(name);
  }
  if (state.grading) state.grading.run.free();
  state.grading = null;
  $('grader-table').tBodies[0].replaceChildren();
  try {
    const run = new GraderRun(name, text, Number($('grader-seed').value) || 0);
    state.grading = { run, name, bounds: run.bounds() };
    $('grader-out').textContent = `running ${name}…`;
  } catch (e) {
    $('grader-out').textContent = `${name}: cannot run it: ${e.message}`;
  }
}

export function graderFrame(dt) {
  const g = state.grading;
  if (!g) return;
  // The grader's own speed: 0 runs as fast as it goes.
  const rate = Number($('grader-speed').value);
  const start = performance.now();
  let done = false;
  do {
    done = g.run.advance(rate === 0 ? 500 : dt * rate);
  } while (!done && rate === 0 && performance.now() - start < REPLAY_BUDGET_MS);
  const rows = [];
  if (done) {
    const s = g.run.summary();
    s.rows.forEach((r, i) => rows.push([r.metric, r.value, r.tier, g.bounds[i]]));
    $('grader-out').textContent = `${s.line}${s.failed_checks.length ? `\n    failed checks: ${s.failed_checks.join('; ')}` : ''}`;
    g.run.free();
    state.grading = null;
  } else {
    const l = g.run.live();
    const values = [`${l.total_msgs} datagrams`, l.failures, l.duplicates, `${l.median_latency.toFixed(6)} s`];
    METRICS.forEach((m, i) => rows.push([m, String(values[i]), l.tiers[i], g.bounds[i]]));
    $('grader-out').textContent = `running ${g.name}: ${(l.now_ms / 1000).toFixed(1)} of ${(l.end_ms / 1000).toFixed(1)} s; the ring shows its replicas`;
  }
  $('grader-table').tBodies[0].replaceChildren(...rows.map(r => {
    const tr = document.createElement('tr');
    for (const c of r) tr.append(Object.assign(document.createElement('td'), { textContent: c }));
    return tr;
  }));
}

// While a grader run goes on, what the ring draws of it: its replicas and
// the messages between them; null when none runs.
export function graderRing() {
  const g = state.grading;
  if (!g) return null;
  const nodes = g.run.nodes();
  if (!nodes) return null;
  return { nodes, messages: g.run.messages(), nowMs: g.run.nowMs(), electionMaxMs: g.run.electionMaxMs() };
}
