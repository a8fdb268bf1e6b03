// What a student hit trying the page as a new user would, one test each
// (issue "The house in order", "What a student hit"). Each failed before
// its fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withPage as openPage } from './serve.mjs';
import { encodeRecord } from '../../www/link.js';

// The page at `hash` (1280x720 unless `viewport`), as serve.mjs opens it.
const withPage = (viewport, body, hash = '') =>
  openPage(hash, (page, { server, browser }) => body(page, server, browser), viewport ? { viewport } : {});

const ready = page => page.waitForFunction(() => window.raftplay.leader() !== null && !window.raftplay.replaying(), null, { timeout: 30000 });
const pause = page => page.evaluate(() => { if (document.getElementById('play').textContent.includes('pause')) document.getElementById('play').click(); });
const actions = page => page.evaluate(() => window.raftplay.playground().record().actions);
const banner = page => page.textContent('#banner');
// Drags the timeline to `ms` as a user would (input, then change).
const scrubTo = (page, ms) => page.evaluate(ms => {
  const t = document.getElementById('timeline');
  t.value = String(ms);
  t.dispatchEvent(new Event('input'));
  t.dispatchEvent(new Event('change'));
}, ms);
const replayed = page => page.waitForFunction(() => !window.raftplay.replaying(), null, { timeout: 30000 });

test('1. a refused action is not recorded: scrubbing back and the link still work', { timeout: 90000 }, async () => {
  await withPage(null, async page => {
    await ready(page);
    await pause(page);
    await page.keyboard.press('3');
    await page.keyboard.press('c');
    await page.keyboard.press('c');
    assert.match(await banner(page), /S3 is already down/);
    const recorded = await actions(page);
    assert.equal(recorded.length, 1, `one crash recorded, not ${JSON.stringify(recorded)}`);
    await page.evaluate(() => window.raftplay.playground().advance(300));
    await scrubTo(page, 100);
    await replayed(page);
    assert.doesNotMatch(await banner(page), /stopped/);
    const record = await page.evaluate(() => window.raftplay.playground().record());
    const reopened = await page.evaluate(r => { try { window.raftplay.playground().constructor.restore(r).free(); return 'ok'; } catch (e) { return e.message; } }, record);
    assert.equal(reopened, 'ok');
  });
});

test('2. the controls show the settings of the moment shown', { timeout: 90000 }, async () => {
  await withPage(null, async (page, server, b) => {
    await ready(page);
    await pause(page);
    const before = await page.evaluate(() => window.raftplay.playground().nowMs());
    await page.evaluate(() => {
      const d = document.getElementById('drops');
      d.value = '30';
      d.dispatchEvent(new Event('input'));
      d.dispatchEvent(new Event('change'));
    });
    await page.click('#auto');
    await page.evaluate(() => window.raftplay.playground().advance(500));
    const record = await page.evaluate(() => window.raftplay.playground().record());
    // A reopened link shows what the run does.
    const other = await b.newPage({ viewport: { width: 1280, height: 720 } });
    await other.goto(`${server.url}#run=${encodeRecord(record)}`);
    await other.waitForFunction(() => window.raftplay && window.raftplay.playground() && !window.raftplay.replaying(), null, { timeout: 30000 });
    assert.equal(await other.inputValue('#drops'), '30');
    assert.equal(await other.textContent('#drops-out'), '30%');
    assert.equal(await other.isChecked('#auto'), true);
    // Scrubbed back to before the change, the controls go back too.
    await scrubTo(page, Math.max(0, Math.floor(before) - 50));
    await replayed(page);
    assert.equal(await page.inputValue('#drops'), '0');
    assert.equal(await page.isChecked('#auto'), false);
  });
});

test('3. one drag of the drops slider is one action; acting in the past forks visibly', { timeout: 90000 }, async () => {
  await withPage(null, async page => {
    await ready(page);
    await pause(page);
    const box = await page.locator('#drops').boundingBox();
    await page.mouse.move(box.x + 2, box.y + box.height / 2);
    await page.mouse.down();
    for (let i = 1; i <= 19; i++) await page.mouse.move(box.x + 2 + (i * (box.width - 4)) / 19, box.y + box.height / 2);
    await page.mouse.up();
    const recorded = await actions(page);
    assert.equal(recorded.filter(a => a.action.do === 'drop_rate').length, 1, JSON.stringify(recorded));
    await page.evaluate(() => window.raftplay.playground().advance(400));
    await scrubTo(page, 50);
    await replayed(page);
    await page.keyboard.press('2');
    await page.keyboard.press('c');
    assert.match(await banner(page), /forked at .* 1 later action was discarded/);
  });
});

test('4. options are bounded, and the error says the bound in the unit typed', { timeout: 60000 }, async () => {
  await withPage(null, async page => {
    await ready(page);
    await pause(page);
    for (const [value, shown] of [['1e300', '1e300'], ['0.0001', '0.0001']]) {
      await page.fill('#lat-max', value);
      await page.dispatchEvent('#lat-max', 'change');
      const text = await banner(page);
      assert.match(text, /between 1 and 10000 ms/);
      assert.ok(text.includes(`got ${shown} ms`), text);
    }
    assert.equal((await actions(page)).length, 0, 'refused settings are not recorded');
    const messages = await page.evaluate(() => window.raftplay.playground().messages());
    assert.ok(messages.every(m => m.arrives_ms >= m.sent_ms));
  });
});

test('5. the help is a modal dialog: it takes focus, pauses, and keys do not act behind it', { timeout: 60000 }, async () => {
  await withPage(null, async page => {
    await ready(page);
    await page.keyboard.press('?');
    const dialog = page.locator('#help [role=dialog]');
    assert.equal(await dialog.isVisible(), true);
    assert.equal(await dialog.getAttribute('aria-modal'), 'true');
    assert.equal(await page.evaluate(() => document.getElementById('help').contains(document.activeElement)), true);
    const at = await page.evaluate(() => window.raftplay.playground().nowMs());
    await page.keyboard.press('1');
    await page.keyboard.press('c');
    await page.waitForTimeout(300);
    assert.equal(await page.evaluate(() => window.raftplay.playground().nowMs()), at, 'paused while open');
    assert.equal((await actions(page)).length, 0, 'no crash behind the dialog');
    assert.ok(await page.evaluate(() => window.raftplay.nodes().every(n => n.alive)));
    await page.keyboard.press('Escape');
    assert.equal(await dialog.isVisible(), false);
    await page.waitForFunction(at => window.raftplay.playground().nowMs() > at, at);
  });
});

test('6. a link asking for a long busy run replays in slices: the tab never freezes', { timeout: 90000 }, async () => {
  const record = {
    version: 1,
    options: { nodes: 5, seed: 1, auto_rate: 1000 },
    actions: [{ time: 0, steps: 0, action: { do: 'auto', on: true } }],
    time: 600000000,
  };
  await withPage(null, async page => {
    // Frames keep coming while the run replays: measure the longest gap.
    const gap = await page.evaluate(() => new Promise(resolve => {
      let last = performance.now(), worst = 0, frames = 0;
      const tick = now => {
        worst = Math.max(worst, now - last); last = now; frames++;
        if (frames < 60) requestAnimationFrame(tick); else resolve(worst);
      };
      requestAnimationFrame(tick);
    }));
    assert.ok(gap < 500, `a frame waited ${gap} ms`);
    assert.match(await banner(page), /Reopening the run from the link: \d+%/);
  }, `#run=${encodeRecord(record)}`);
});

test('7. key-value panel, keys, hint, partition boxes and readable counts', { timeout: 90000 }, async () => {
  await withPage(null, async page => {
    await ready(page);
    await pause(page);
    const leader = await page.evaluate(() => window.raftplay.leader());
    await page.fill('#key', 'a');
    await page.fill('#value', 'x'.repeat(300));
    await page.click('#put');
    await page.fill('#key', 'b');
    await page.fill('#value', '2');
    await page.click('#put');
    await page.evaluate(() => window.raftplay.playground().advance(500));
    await page.keyboard.press(String(leader + 1));
    await page.waitForFunction(() => document.querySelectorAll('#kv li').length === 2);
    const overflow = await page.evaluate(() => { const k = document.getElementById('kv'); return k.scrollWidth - k.clientWidth; });
    assert.ok(overflow <= 0, `the long value overflows by ${overflow}px`);
    await page.fill('#key', '   ');
    await page.click('#put');
    assert.match(await banner(page), /cannot be empty or only spaces/);
    await page.check('#group input >> nth=0');
    await page.check('#group input >> nth=1');
    await page.click('#partition');
    await page.click('#heal');
    assert.equal(await page.locator('#group input:checked').count(), 0, 'boxes cleared by heal');
    const ink = await page.evaluate(async () => { const d = await import('./draw.js'); return d.textOn(d.termColour(4)); });
    assert.equal(ink, '#000', 'dark text on the yellow of term 4');
    await page.selectOption('#nodes', '7');
    await page.click('#new');
    assert.match(await page.textContent('#hint'), /seven-node/);
    const kinds = await page.evaluate(() => [...document.querySelectorAll('#legend li')].map(li => li.dataset.kind));
    for (const k of ['Heartbeat', 'AppendEntries', 'AppendEntriesResponse', 'PreVote', 'RequestVote', 'PreVoteResponse', 'RequestVoteResponse', 'Forward', 'Probe', 'Commit']) {
      assert.ok(kinds.includes(k), `the legend has ${k}`);
    }
  });
});

for (const [w, h] of [[1280, 720], [1024, 768]]) {
  test(`8. the page fits ${w}x${h} without scrolling`, { timeout: 60000 }, async () => {
    await withPage({ width: w, height: h }, async page => {
      await ready(page);
      const s = await page.evaluate(() => ({ h: document.documentElement.scrollHeight, w: document.documentElement.scrollWidth, timeline: document.getElementById('timeline').getBoundingClientRect().bottom, events: document.getElementById('events-box').getBoundingClientRect().bottom }));
      assert.ok(s.h <= h && s.w <= w, `the page is ${s.w}x${s.h}`);
      assert.ok(s.timeline <= h && s.events <= h, 'timeline and events above the fold');
    });
  });
}

test('8. the header fits one row at 1400, and on a phone the inspector sits under the ring', { timeout: 60000 }, async () => {
  await withPage({ width: 1400, height: 900 }, async page => {
    await ready(page);
    const rows = await page.evaluate(() => new Set([...document.querySelectorAll('header .controls > *')].filter(e => !e.hidden).map(e => Math.round(e.getBoundingClientRect().top / 10))).size);
    assert.equal(rows, 1, 'one row of controls');
  });
  await withPage({ width: 390, height: 844 }, async page => {
    await ready(page);
    const at = await page.evaluate(() => window.raftplay.nodeCenter(0));
    await page.mouse.click(at.x, at.y);
    const gap = await page.evaluate(() => document.getElementById('inspect').getBoundingClientRect().top - document.getElementById('cluster').getBoundingClientRect().bottom);
    assert.ok(gap >= 0 && gap < 40, `the inspector is ${gap}px below the ring`);
  });
});
