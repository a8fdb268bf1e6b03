// Explore mode on the page: time stands still, a click on a waiting
// message delivers it (out of order), undo takes it back, and "show me
// how" finds a planted bug's shortest counterexample in a Web Worker and
// plays it until a light turns red, while frames keep coming.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withPage } from './serve.mjs';

const nodesAndTime = () => JSON.stringify([window.raftplay.nodes(), window.raftplay.playground().nowMs(),
  window.raftplay.droppable().map(m => m.text)]);

test('explore mode delivers a later message first by click, and undo takes it back', { timeout: 90000 }, async () => {
  await withPage('', async page => {
    await page.waitForFunction(() => window.raftplay.leader() !== null, null, { timeout: 30000 });
    // Wait until heartbeats are on the wire, then stop time.
    await page.waitForFunction(() => window.raftplay.droppable().length >= 3, null, { timeout: 30000, polling: 5 });
    await page.keyboard.press('e');
    assert.equal(await page.evaluate(() => window.raftplay.exploring()), true);
    assert.equal(await page.isVisible('#explore'), true);
    await page.evaluate(() => window.raftplay.redraw());
    const waiting = await page.evaluate(() => window.raftplay.droppable());
    assert.ok(waiting.length >= 2, JSON.stringify(waiting));
    assert.ok(waiting.every(m => m.held !== null), 'every message waits');
    const now = await page.evaluate(() => window.raftplay.playground().nowMs());
    await page.waitForTimeout(500);
    assert.equal(await page.evaluate(() => window.raftplay.playground().nowMs()), now, 'time stands still');
    const before = await page.evaluate(nodesAndTime);

    // The newest message first: a click on it delivers it.
    const last = waiting.reduce((a, m) => (m.held > a.held ? m : a));
    const box = await page.locator('#cluster').boundingBox();
    await page.mouse.click(box.x + last.x, box.y + last.y);
    await page.evaluate(() => window.raftplay.redraw());
    const after = await page.evaluate(() => window.raftplay.droppable());
    assert.equal(after.filter(m => m.held === last.held && m.text === last.text && m.to === last.to).length, 0, 'delivered');
    assert.ok(after.some(m => m.held === 0), 'the oldest still waits');
    const events = await page.textContent('#events');
    assert.match(events, new RegExp(`S${last.to + 1}`));
    assert.notEqual(await page.evaluate(nodesAndTime), before);

    await page.keyboard.press('z');
    await page.evaluate(() => window.raftplay.redraw());
    assert.equal(await page.evaluate(nodesAndTime), before, 'undo restores the state before the click');

    // The list offers the timer too; leaving resumes time.
    assert.match(await page.textContent('#choices'), /timer fires/);
    await page.keyboard.press('e');
    await page.keyboard.press(' ');
    await page.waitForFunction(t => window.raftplay.playground().nowMs() > t + 100, now, { timeout: 10000 });
  });
});

test('show me how plays a shortest counterexample until a light turns red, off the main thread', { timeout: 120000 }, async () => {
  await withPage('', async page => {
    await page.keyboard.press('e');
    await page.selectOption('#how-bug', 'no_vote_guard');
    // Frames keep coming while the worker searches.
    await page.evaluate(() => {
      window.gaps = [];
      let last = performance.now();
      const tick = t => { window.gaps.push(t - last); last = t; if (window.gaps.length < 100000) requestAnimationFrame(tick); };
      requestAnimationFrame(tick);
    });
    await page.click('#how-run');
    await page.waitForFunction(() => /Found in/.test(document.getElementById('how-progress').textContent), null, { timeout: 90000 });
    await page.waitForFunction(() => window.raftplay.lights().some(l => !l.ok), null, { timeout: 30000 });
    const steps = await page.$$eval('#how-steps li', lis => lis.map(li => li.textContent));
    assert.ok(steps.length >= 1 && steps.length <= 9, steps.join('\n'));
    const red = await page.evaluate(() => window.raftplay.lights().filter(l => !l.ok).map(l => `${l.name}: ${l.text}`));
    assert.ok(red.length > 0);
    assert.match(await page.textContent('#banner'), /Step \d+ of \d+/);
    const worst = await page.evaluate(() => Math.max(...window.gaps.slice(1)));
    assert.ok(worst < 1000, `a frame waited ${worst} ms`);
  });
});

test('a counterexample of gradesim explore opens on the page by import and by its link, its light red', { timeout: 120000 }, async () => {
  const { mkdtempSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const { spawnSync } = await import('node:child_process');
  const { root } = await import('./serve.mjs');
  const dir = mkdtempSync(join(tmpdir(), 'raftplay-'));
  const file = join(dir, 'ce.json');
  // Clocks 10% apart outrun the lease: Lease Exclusion in a few events.
  const out = spawnSync(join(root, 'target', 'release', 'gradesim'), ['explore', '--start', 'leader',
    '--requests', 'leaders', '--link-capacity', '1', '--max-append', '1', '--depth', '5', '--drift', '0.1',
    '--out', file], { encoding: 'utf8' });
  assert.equal(out.status, 1, out.stdout + out.stderr);
  const link = out.stdout.match(/on the page \(make run\): http:\/\/127\.0\.0\.1:8000\/(#run=\S+)/);
  assert.ok(link, out.stdout);
  const red = () => window.raftplay.lights().filter(l => !l.ok).map(l => `${l.name}: ${l.text}`).join('\n');
  await withPage('', async page => {
    await page.setInputFiles('#import-file', file);
    await page.waitForFunction(() => /Opened ce\.json/.test(document.getElementById('banner').textContent), null, { timeout: 30000 });
    assert.match(await page.evaluate(red), /Lease Exclusion/);
    assert.equal(await page.evaluate(() => window.raftplay.exploring()), true, 'it opens in explore mode');
    assert.match(await page.textContent("#events"), /S\d.s clock runs 10% slow from now on/);
  });
  await withPage(link[1], async page => {
    await page.waitForFunction(() => window.raftplay.lights().some(l => !l.ok), null, { timeout: 30000 });
    assert.match(await page.evaluate(red), /Lease Exclusion/);
  });
});
