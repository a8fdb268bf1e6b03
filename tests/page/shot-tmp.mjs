import { withPage } from './serve.mjs';
await withPage('index.html?record=shot.jsonl', async page => {
  await page.waitForFunction(() => /seed 1/.test(document.getElementById('rec-title').textContent));
  await page.click('#next-problem');
  await page.waitForTimeout(300);
  await page.locator('#story').screenshot({ path: '/tmp/shot/strip.png' });
  await page.screenshot({ path: '/tmp/shot/rec.png' });
}, { ready: () => window.recording && window.raftplay && window.raftplay.playground() });
