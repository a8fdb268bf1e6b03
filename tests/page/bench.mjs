// Browser benchmark (not a test): frame costs of the playground for 5 and 9
// nodes under automatic load with 1000-entry logs, and of a recording on
// the playground's canvas: a 20,000-datagram packet storm, in headless Chromium.
//   node tests/page/bench.mjs
import { writeFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { serve, browser, root } from './serve.mjs';

// A packet storm: 20,000 replica datagrams in 4 s (five a millisecond,
// fifteen in flight at once), with client requests, verdicts and prints.
function storm() {
  const ids = ['0000', '0001', '0002', '0003', '0004'];
  const lines = [{ kind: 'header', format: 'raftplay-recording', version: 1, source: 'udp', config: { name: 'storm' }, seed: 1, replicas: ids, clients: ['0015', '0016'], start: 0 }];
  for (let i = 0; i < 20000; i++) {
    const src = ids[i % 5], dst = ids[(i * 3 + 1) % 5];
    lines.push({ kind: 'datagram', t: 1000 + i * 200, src, dst, fate: i % 9 === 0 ? 'dropped' : 'delivered', json: { src, dst, leader: '0000', type: i % 2 ? 'append' : 'append_reply', term: 3 }, message: { kind: i % 2 ? 'AppendEntries' : 'AppendEntriesResponse', term: 3, entries: 1, ok: true } });
  }
  for (let i = 0; i < 1000; i++) {
    const t = 1000 + i * 4000, mid = `M${i}`, client = i % 2 ? '0015' : '0016';
    lines.push({ kind: 'datagram', t, src: client, dst: '0000', fate: 'delivered', json: { src: client, dst: '0000', leader: 'FFFF', type: 'put', MID: mid, key: `k${i % 50}`, value: `v${i}` } });
    lines.push({ kind: 'datagram', t: t + 500, src: '0000', dst: client, fate: 'delivered', json: { src: '0000', dst: client, leader: '0000', type: 'ok', MID: mid } });
    lines.push({ kind: 'verdict', t: t + 500, mid, verdict: 'ok' });
    lines.push({ kind: 'print', t, replica: '0000', stream: 'stderr', line: `put k${i % 50}` });
  }
  return lines.map(l => JSON.stringify(l)).join('\n') + '\n';
}

const server = await serve();
const b = await browser();
try {
  for (const nodes of [5, 9]) {
    const page = await b.newPage({ viewport: { width: 1000, height: 800 } });
    await page.goto(`${server.url}bench.html?nodes=${nodes}&frames=1200&entries=1000`);
    await page.waitForFunction(() => window.benchResult, null, { timeout: 300000 });
    const r = await page.evaluate(() => window.benchResult);
    if (r.error) throw new Error(r.error);
    const f = s => `median ${s.median.toFixed(3)} ms, p95 ${s.p95.toFixed(3)} ms`;
    console.log(`${nodes} nodes, ${r.frames} frames, logs of ${r.log_entries} entries: wasm ${f(r.wasm_ms)}; draw ${f(r.draw_ms)}; total ${f(r.total_ms)}`);
    await page.close();
  }
  const file = join(root, 'www', 'bench-storm.jsonl');
  writeFileSync(file, storm());
  try {
    const page = await b.newPage({ viewport: { width: 1280, height: 720 } });
    await page.goto(`${server.url}index.html?record=bench-storm.jsonl`);
    await page.waitForFunction(() => window.recording && window.recording.state().end > 1, null, { timeout: 60000 });
    const r = await page.evaluate(() => {
      const end = window.recording.state().end, times = [];
      for (let i = 0; i < 1200; i++) {
        const t0 = performance.now();
        window.recording.seek((end * i) / 1200);
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      return { median: times[600], p95: times[Math.floor(1200 * 0.95)] };
    });
    console.log(`recording of 20,000 datagrams, 1200 frames across it: draw median ${r.median.toFixed(3)} ms, p95 ${r.p95.toFixed(3)} ms`);
    await page.close();
  } finally {
    unlinkSync(file);
  }
} finally {
  await b.close();
  server.close();
}
