// Guided scenarios (issue "The page explains", part 3): every scenario
// opens from its link without errors and reaches its named end state; a
// story runs step by step from its card.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { serve, browser, root, withPage, assertRingWhole } from './serve.mjs';
import { SCENARIOS } from '../../www/scenarios.js';

// Screenshots at the end (for the README) and at every step (to look at).
const SHOTS = ['split-vote', 'figure-7', 'minority-leader'];
const STEP_SHOTS = ['split-vote', 'figure-8', 'figure-8-unsafe'];

test('every scenario opens from its link and reaches its end state', { timeout: 300000 }, async () => {
  assert.ok(SCENARIOS.length >= 10);
  for (const name of ['figure-7', 'figure-8', 'figure-8-e', 'figure-8-unsafe', 'split-vote']) assert.ok(SCENARIOS.some(s => s.name === name), name);
  const server = await serve();
  const b = await browser();
  try {
    for (const s of SCENARIOS) {
      const page = await b.newPage({ viewport: { width: 1280, height: 720 } });
      const errors = [];
      page.on('pageerror', e => errors.push(e.message));
      page.on('console', m => { if (m.type() === 'error') errors.push(m.text()); });
      await page.goto(`${server.url}#scenario=${s.name}`);
      await page.waitForFunction(() => window.raftplay && window.raftplay.playground());
      assert.equal(await page.textContent('#card-title'), s.title);
      // Card by card: every step says what its card claims (its `claims`,
      // or the event it ends on), and the claim holds when the card shows;
      // the ring is drawn whole.
      for (let i = 0; i < s.steps.length; i++) {
        assert.ok(s.steps[i].claims || s.steps[i].until, `${s.name} step ${i + 1} claims nothing: ${s.steps[i].say}`);
        await page.evaluate(() => window.raftplay.runScenario(1));
        const held = await page.evaluate(() => window.raftplay.stepHeld());
        assert.equal(held, true, `${s.name} step ${i + 1}: what its card says is not on screen (${JSON.stringify(s.steps[i].claims || s.steps[i].until)}): ${s.steps[i].say}`);
        assert.match(await page.textContent('#card-step'), new RegExp(`step ${i + 1} of ${s.steps.length}`));
        await assertRingWhole(page);
        if (STEP_SHOTS.includes(s.name)) {
          mkdirSync(join(root, 'target', 'screenshots'), { recursive: true });
          await page.screenshot({ path: join(root, 'target', 'screenshots', `${s.name}-step-${i + 1}.png`) });
        }
      }
      const ok = await page.evaluate(() => window.raftplay.runScenario());
      assert.equal(ok, true, `${s.name} did not reach: ${s.end.says}`);
      assert.match(await page.textContent('#card-text'), /Reached:/);
      assert.deepEqual(errors, [], `${s.name}: ${errors.join('\n')}`);
      if (SHOTS.includes(s.name)) { // for the README
        mkdirSync(join(root, 'target', 'screenshots'), { recursive: true });
        await page.waitForTimeout(300);
        await page.screenshot({ path: join(root, 'target', 'screenshots', `${s.name}.png`) });
      }
      await page.close();
    }
  } finally {
    await b.close();
    server.close();
  }
});

test('a scenario runs step by step from its card, and pauses between steps', { timeout: 120000 }, async () => {
  const server = await serve();
  const b = await browser();
  try {
    const page = await b.newPage({ viewport: { width: 1280, height: 720 } });
    await page.goto(`${server.url}#scenario=leader-crash`);
    await page.waitForFunction(() => window.raftplay && window.raftplay.playground());
    assert.match(await page.textContent('#card-step'), /4 steps/);
    await page.evaluate(() => { document.getElementById('speed').value = '150'; document.getElementById('speed').dispatchEvent(new Event('input')); });
    for (let i = 0; i < 4; i++) {
      await page.click('#card-next');
      await page.waitForFunction(() => !document.getElementById('card-next').disabled || /the end/.test(document.getElementById('card-step').textContent), null, { timeout: 60000 });
    }
    assert.match(await page.textContent('#card-step'), /the end/);
    assert.match(await page.textContent('#card-text'), /Reached: a new leader that holds x=1/);
    assert.match(await page.textContent('#play'), /play/, 'paused at the end');
  } finally {
    await b.close();
    server.close();
  }
});

// Figure 8 step by step: after panel (c) x=1 is on a majority (A, B, C) and
// the leader says why it does not commit it (§5.4.2); after (d) it is gone.
test('Figure 8: a majority holds x=1, the held-back commit gives its reason, and (d) overwrites it', { timeout: 120000 }, async () => {
  // withPage fails the test on any page error.
  await withPage('#scenario=figure-8', async page => {
    await page.evaluate(() => window.raftplay.runScenario(4)); // the election, (a), (b), (c)
    const text = (await page.evaluate(() => window.raftplay.playground().recentEvents().map(e => e.text))).join('\n');
    assert.match(text, /S\d does not commit index \d+: a majority holds it, but it is from term \d+, not the current term \d+ \(§5\.4\.2\)/);
    assert.equal(await page.evaluate(() => window.raftplay.committed('x')), false, 'x=1 is not committed');
    const ok = await page.evaluate(() => window.raftplay.runScenario());
    assert.equal(ok, true, 'x=1 is in no log and E leads');
  });
});
