// Browser benchmark: milliseconds per frame spent in WebAssembly calls and in
// drawing (ring, logs, history lane; lights read), for a cluster under
// automatic client load with long logs. Run by
// tests/page/bench.mjs in headless Chromium, or open bench.html by hand.
import init, { Playground } from './pkg/raftplay.js';
import { drawCluster, drawLogs, drawHistory } from './draw.js';
import { Logs, readFrame } from './model.js';

const params = new URLSearchParams(location.search);
const nodes = Number(params.get('nodes') || 5);
const frames = Number(params.get('frames') || 1200);
const entries = Number(params.get('entries') || 1000);

function stats(values) {
  const v = [...values].sort((a, b) => a - b);
  const at = q => v[Math.min(v.length - 1, Math.floor(q * v.length))];
  return { median: at(0.5), p95: at(0.95), max: v[v.length - 1] };
}

const nextFrame = () => new Promise(r => requestAnimationFrame(r));

async function run() {
  await init();
  const pg = new Playground({ nodes, seed: 1, auto_rate: 200 });
  pg.advance(3000);
  pg.setAuto(true);
  const longest = () => Math.max(...pg.nodes().map(n => n.log_len));
  while (longest() < entries && pg.nowMs() < 120000) pg.advance(500);
  const logs = new Logs();
  logs.apply(pg.logChanges());
  const wasm = [], draw = [];
  const o = pg.options();
  for (let i = 0; i < frames; i++) {
    await nextFrame();
    const t0 = performance.now();
    pg.advance(16.7 / 4);
    const f = readFrame(pg, logs, false);
    const view = {
      nodes: f.nodes, messages: f.messages, cuts: f.cuts,
      nowMs: pg.nowMs(), selected: 0, group: new Set(), electionMaxMs: o.election_timeout_max_ms,
    };
    pg.lights();
    const lane = pg.historySince(Math.max(0, view.nowMs - 5000));
    const t1 = performance.now();
    drawCluster(document.getElementById("cluster"), view);
    drawLogs(document.getElementById('logs'), view.nodes, logs.byNode);
    drawHistory(document.getElementById('lane'), lane, view.nowMs, 5000);
    const t2 = performance.now();
    wasm.push(t1 - t0);
    draw.push(t2 - t1);
  }
  const total = wasm.map((w, i) => w + draw[i]);
  const result = {
    nodes, frames, log_entries: longest(), virtual_s: pg.nowMs() / 1000,
    wasm_ms: stats(wasm), draw_ms: stats(draw), total_ms: stats(total),
  };
  document.getElementById('out').textContent = JSON.stringify(result, null, 2);
  window.benchResult = result;
}

run().catch(e => { window.benchResult = { error: String(e) }; });
