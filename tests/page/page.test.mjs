// The playground page in headless Chromium: it loads without console errors,
// elects a leader, survives the leader's crash, and commits a client put.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { serve, browser, root } from './serve.mjs';
import { encodeRecord } from '../../www/link.js';

test('the playground runs a cluster a student can break', { timeout: 120000 }, async () => {
  const server = await serve();
  const b = await browser();
  try {
    const page = await b.newPage({ viewport: { width: 1280, height: 800 } });
    const problems = [];
    page.on('console', m => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    page.on('pageerror', e => problems.push(`page error: ${e.message}`));
    page.on('response', r => { if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.url()}`); });
    await page.goto(server.url);
    await page.waitForFunction(() => window.raftplay && window.raftplay.leader() !== null, null, { timeout: 30000 });
    const old = await page.evaluate(() => window.raftplay.leader());

    const at = await page.evaluate(id => window.raftplay.nodeCenter(id), old);
    await page.mouse.click(at.x, at.y);
    await page.waitForFunction(id => document.getElementById('inspect-title').textContent.startsWith(`S${id + 1}`), old);
    await page.click('#crash');
    await page.waitForFunction(id => {
      const l = window.raftplay.leader();
      return l !== null && l !== id;
    }, old, { timeout: 30000 });
    const nodes = await page.evaluate(() => window.raftplay.nodes());
    assert.equal(nodes[old].alive, false, 'the old leader is down');

    await page.keyboard.press('Escape');
    await page.fill('#key', 'answer');
    await page.fill('#value', '42');
    await page.click('#put');
    await page.waitForFunction(() => window.raftplay.committed('answer'), null, { timeout: 30000 });
    const events = await page.textContent('#events');
    assert.match(events, /becomes leader/);
    assert.match(events, /crashes/);

    mkdirSync(join(root, 'target'), { recursive: true });
    await page.screenshot({ path: join(root, 'target', 'page-screenshot.png') });
    assert.deepEqual(problems, [], problems.join('\n'));
  } finally {
    await b.close();
    server.close();
  }
});

test('a malformed link opens a fresh cluster with a clear message', { timeout: 60000 }, async () => {
  const server = await serve();
  const b = await browser();
  try {
    const page = await b.newPage();
    const errors = [];
    page.on('pageerror', e => errors.push(e.message));
    await page.goto(`${server.url}#run=not-a-valid-run`);
    await page.waitForFunction(() => window.raftplay && window.raftplay.leader() !== null, null, { timeout: 30000 });
    const banner = await page.textContent('#banner');
    assert.match(banner, /could not be opened/);
    assert.deepEqual(errors, []);
  } finally {
    await b.close();
    server.close();
  }
});

test('a copied link reopens the same run at the same moment', { timeout: 60000 }, async () => {
  const server = await serve();
  const b = await browser();
  try {
    const page = await b.newPage();
    await page.goto(server.url);
    await page.waitForFunction(() => window.raftplay && window.raftplay.leader() !== null, null, { timeout: 30000 });
    await page.keyboard.press(' ');
    const link = await page.evaluate(() => {
      const pg = window.raftplay.playground();
      pg.crash(0);
      pg.advance(700);
      return { hash: location.hash, at: pg.nowMs(), nodes: JSON.stringify(pg.nodes()), record: pg.record() };
    });
    const url = `${server.url}#run=${encodeRecord(link.record)}`;
    const other = await b.newPage();
    await other.goto(url);
    await other.waitForFunction(() => window.raftplay && window.raftplay.playground() && !window.raftplay.replaying());
    const reopened = await other.evaluate(() => ({ at: window.raftplay.playground().nowMs(), nodes: JSON.stringify(window.raftplay.playground().nodes()) }));
    assert.equal(reopened.at, link.at);
    assert.equal(reopened.nodes, link.nodes);
    assert.match(await other.textContent('#banner'), /Reopened the run/);
  } finally {
    await b.close();
    server.close();
  }
});
