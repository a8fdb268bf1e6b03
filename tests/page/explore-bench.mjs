// Browser benchmark (not a test): "show me how" for every planted bug, in
// headless Chromium: the explorer in the page's Web Worker with the page's
// own bounds, its time and states, and the page's frames meanwhile (the
// interval between animation frames: median, 95th percentile, longest),
// against the same page with no search running.
//   node tests/page/explore-bench.mjs [bug...]
import { serve, browser } from './serve.mjs';

const server = await serve();
const b = await browser();
try {
  const page = await b.newPage({ viewport: { width: 1280, height: 720 } });
  await page.goto(server.url);
  await page.waitForFunction(() => window.raftplay && window.raftplay.playground());
  const names = process.argv.slice(2).length ? process.argv.slice(2)
    : await page.$$eval('#how-bug option', os => os.map(o => o.value));
  await page.keyboard.press('e');
  const watch = () => page.evaluate(() => {
    window.gaps = [];
    let last = performance.now();
    const tick = t => { window.gaps.push(t - last); last = t; if (!window.stopGaps) requestAnimationFrame(tick); };
    window.stopGaps = false;
    requestAnimationFrame(tick);
  });
  const frames = () => page.evaluate(() => {
    window.stopGaps = true;
    const g = window.gaps.slice(1).sort((a, b) => a - b);
    const at = q => g[Math.min(g.length - 1, Math.floor(q * g.length))];
    return `frames ${g.length}: median ${at(0.5).toFixed(1)} ms, p95 ${at(0.95).toFixed(1)} ms, longest ${g[g.length - 1].toFixed(0)} ms`;
  });
  await watch();
  await page.waitForTimeout(5000);
  console.log(`no search, 5 s: ${await frames()}`);
  console.log('variant                      result');
  for (const bug of names) {
    await watch();
    await page.selectOption('#how-bug', bug);
    await page.click('#how-run');
    await page.waitForFunction(() => !/^Searching/.test(document.getElementById('how-progress').textContent), null, { timeout: 600000, polling: 200 });
    const line = await page.textContent('#how-progress');
    console.log(`${bug.padEnd(28)} ${line} During it, ${await frames()}.`);
    // Back to explore mode on a fresh page cluster for the next one.
    await page.waitForTimeout(200);
    await page.click('#new');
    await page.keyboard.press('e');
  }
} finally {
  await b.close();
  server.close();
}
