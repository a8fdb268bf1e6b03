// Browser benchmark (not a test): frame costs of the playground for 5 and 9
// nodes under automatic load with 1000-entry logs, in headless Chromium.
//   node tests/page/bench.mjs
import { serve, browser } from './serve.mjs';

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
} finally {
  await b.close();
  server.close();
}
