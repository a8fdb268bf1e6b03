// Browser benchmark (not a test): "show me how" for every planted bug, in
// headless Chromium: the explorer in the page's Web Worker with the page's
// own bounds, its time and states, and the longest frame gap meanwhile.
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
  console.log('variant                      result');
  for (const bug of names) {
    await page.evaluate(() => {
      window.gaps = [];
      let last = performance.now();
      const tick = t => { window.gaps.push(t - last); last = t; if (!window.stopGaps) requestAnimationFrame(tick); };
      window.stopGaps = false;
      requestAnimationFrame(tick);
    });
    await page.selectOption('#how-bug', bug);
    await page.click('#how-run');
    await page.waitForFunction(() => !/^Searching/.test(document.getElementById('how-progress').textContent), null, { timeout: 600000, polling: 200 });
    const line = await page.textContent('#how-progress');
    const worst = await page.evaluate(() => { window.stopGaps = true; return Math.max(...window.gaps.slice(1)); });
    console.log(`${bug.padEnd(28)} ${line} Longest frame gap ${worst.toFixed(0)} ms.`);
    // Back to explore mode on a fresh page cluster for the next one.
    await page.waitForTimeout(200);
    await page.click('#new');
    await page.keyboard.press('e');
  }
} finally {
  await b.close();
  server.close();
}
