// The page says why (issue "The page explains", part 1): a vote denial, an
// append rejection and a truncation each show their reason with the
// paper's section; the event list filters by category; a click on an event
// moves the timeline there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withPage as openPage } from './serve.mjs';

// The playground once a leader is elected, paused.
const withPage = body => openPage('', async page => {
  await page.waitForFunction(() => window.raftplay.leader() !== null, null, { timeout: 30000 });
  await page.evaluate(() => document.getElementById('play').click());
  await body(page);
});

const events = page => page.evaluate(() => [...document.querySelectorAll('#events li')].map(li => li.textContent));
// Runs the model as the user's actions would, then lets the page read it.
// Acts on the model, draws it at once (what the hooks return next is its
// present), then leaves the page a few frames.
const drive = (page, f) => page.evaluate(f)
  .then(() => page.evaluate(() => window.raftplay.redraw()))
  .then(() => page.waitForTimeout(100));

test('a refused pre-vote, an append rejection and a truncation each say why, with the section', { timeout: 120000 }, async () => {
  await withPage(async page => {
    // A follower times out while the leader is alive: the others heard the
    // leader within the vote guard and refuse.
    await drive(page, () => {
      const pg = window.raftplay.playground();
      const l = window.raftplay.leader();
      const f = (l + 1) % 5;
      pg.timeout(f);
      pg.advance(1500);
    });
    let text = (await events(page)).join('\n');
    assert.match(text, /refuses S\d a pre-vote for term \d+: it heard from a leader less than a minimum election timeout ago \(vote guard until [\d.]+ s\) \(thesis §4\.2\.3\)/);

    // An AppendEntries is lost on its way (a click on it would do the
    // same). A later one to the same follower, sent on after the lost
    // entries (pipelined), finds no entry at its previous index.
    await drive(page, () => {
      const pg = window.raftplay.playground();
      const l = pg.nodes().find(n => n.role === 'leader').id;
      // Each put's entries leave the leader a client hop after the put.
      const sent = after => {
        for (let i = 0; i < 100; i++) {
          const m = pg.messages().find(m => m.from === l && m.kind === 'AppendEntries' && m.sent_ms > after && !m.lost);
          if (m) return m;
          pg.advance(1);
        }
        throw new Error('no AppendEntries left the leader');
      };
      pg.put('k0', 'v', undefined);
      const m = sent(0);
      pg.dropMessage(m.from, m.to, m.sent_ms);
      pg.put('k1', 'v', undefined);
      const next = sent(m.sent_ms);
      pg.put('k2', 'v', undefined);
      sent(next.sent_ms);
      pg.advance(1000);
    });
    text = (await events(page)).join('\n');
    assert.match(text, /rejects AppendEntries from S\d: no entry at index \d+ \(its log ends at \d+\) \(§5\.3\)/);

    // A leader cut off alone takes a put it cannot commit; the majority
    // elects another and writes; after the heal the old leader drops its
    // entry.
    await drive(page, () => {
      const pg = window.raftplay.playground();
      const l = pg.nodes().find(n => n.role === 'leader').id;
      pg.partition([[l]]);
      pg.put('lost', '1', l);
      pg.advance(4000);
      const other = pg.nodes().find(n => n.role === 'leader' && n.id !== l).id;
      pg.put('kept', '2', other);
      pg.advance(500);
      pg.heal();
      pg.advance(2000);
    });
    text = (await events(page)).join('\n');
    assert.match(text, /drops entry \d+ of term \d+: it conflicts with S\d's \(§5\.3\)/);
  });
});

test('events filter by category, and a click goes to that moment', { timeout: 90000 }, async () => {
  await withPage(async page => {
    await drive(page, () => { window.raftplay.playground().advance(3000); });
    const visible = cat => page.evaluate(c => [...document.querySelectorAll(`#events li.${c}`)].filter(li => li.offsetParent !== null).length, cat);
    assert.ok(await visible('election') > 0);
    await page.uncheck('#filters input[data-category=election]');
    assert.equal(await visible('election'), 0, 'elections hidden');
    assert.ok(await visible('replication') > 0 || await visible('commit') > 0, 'the rest stays');
    await page.check('#filters input[data-category=election]');
    const target = page.locator('#events li.election').first();
    const at = Number(await target.getAttribute('data-time-ms'));
    const node = await target.getAttribute('data-node');
    await target.click();
    await page.waitForFunction(() => !window.raftplay.replaying());
    const now = await page.evaluate(() => window.raftplay.playground().nowMs());
    assert.ok(Math.abs(now - at) < 1, `the run is at ${now}, the event at ${at}`);
    assert.equal(await page.inputValue('#timeline'), String(Math.round(at)));
    assert.ok((await page.textContent('#inspect-title')).startsWith(`S${Number(node) + 1}`));
  });
});

test('hovering shows a message\'s fields and a log entry\'s index, term and command; a lost commit index is drawn as unknown', { timeout: 90000 }, async () => {
  await withPage(async page => {
    await drive(page, () => {
      const pg = window.raftplay.playground();
      pg.put('x', '1', undefined);
      pg.advance(2);
    });
    // Hover a message in flight where the page drew it.
    const point = await page.evaluate(() => {
      const r = document.getElementById('cluster').getBoundingClientRect();
      return { x: r.left, y: r.top };
    });
    const at = await page.evaluate(() => window.raftplay.messageAt(0));
    assert.ok(at, 'a message in flight');
    await page.mouse.move(point.x + at.x, point.y + at.y);
    await page.waitForSelector('#tip:not([hidden])');
    const text = await page.textContent('#tip');
    assert.match(text, /S\d → S\d: (AppendEntries|Heartbeat|AppendEntries reply)[^\n]*, term \d+\nsent [\d.]+ s, arrives [\d.]+ s/);
    // The pointer rests: once the message arrives, the tip adds what its
    // arrival caused at the receiver.
    await page.evaluate(() => window.raftplay.playground().advance(100));
    await page.waitForFunction(() => /\non arrival:\n/.test(document.getElementById('tip').textContent));
    const arrived = await page.textContent('#tip');
    const [, to] = arrived.match(/^S\d → (S\d)/);
    assert.match(arrived, new RegExp(`on arrival:\\n  ${to} (accepts|rejects|commits|grants|refuses)`), arrived);

    // A follower restarts: its log survives, its commit index does not.
    const f = await page.evaluate(() => {
      const pg = window.raftplay.playground();
      pg.advance(500);
      const l = window.raftplay.leader();
      const f = (l + 1) % 5;
      pg.crash(f);
      pg.restart(f);
      return f;
    });
    await page.waitForTimeout(150);
    const node = await page.evaluate(f => window.raftplay.nodes()[f], f);
    assert.equal(node.commit_known, false);
    assert.ok(node.log_len >= 2);
    const box = await page.locator('#logs').boundingBox();
    const layout = await page.evaluate(() => window.raftplay.logLayout());
    await page.mouse.move(box.x + layout.left + (2 - layout.first) * (layout.cell + 1) + 2, box.y + layout.top + f * layout.row + 2);
    await page.waitForFunction(() => /index 2: term \d+, x=1/.test(document.getElementById('tip').textContent));
    assert.match(await page.textContent('#tip'), /commit index unknown \(volatile\)/);
  });
});

test('a run exports as a file, imports back to the same moment, and gradesim replay prints it', { timeout: 120000 }, async () => {
  const { mkdtempSync, writeFileSync, readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const { spawnSync } = await import('node:child_process');
  const { root } = await import('./serve.mjs');
  const dir = mkdtempSync(join(tmpdir(), 'raftplay-'));
  let saved, before;
  await withPage(async page => {
    await drive(page, () => {
      const pg = window.raftplay.playground();
      pg.crash(window.raftplay.leader());
      pg.put('x', '7', undefined);
      pg.advance(3000);
    });
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
    saved = join(dir, 'run.json');
    await download.saveAs(saved);
    before = await page.evaluate(() => ({ at: window.raftplay.playground().nowMs(), nodes: JSON.stringify(window.raftplay.playground().nodes()) }));
    // Import it back (into a fresh cluster first) by the file picker.
    await page.click('#new');
    await page.setInputFiles('#import-file', saved);
    await page.waitForFunction(() => /Opened run\.json/.test(document.getElementById('banner').textContent));
    const after = await page.evaluate(() => ({ at: window.raftplay.playground().nowMs(), nodes: JSON.stringify(window.raftplay.playground().nodes()) }));
    assert.deepEqual(after, before);
    // A file that is not a run says so.
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"format": "something-else"}');
    await page.setInputFiles('#import-file', bad);
    await page.waitForFunction(() => /could not be opened: not a raftplay run/.test(document.getElementById('banner').textContent));
  });
  const exported = JSON.parse(readFileSync(saved, 'utf8'));
  assert.equal(exported.format, 'raftplay-run');
  assert.ok(exported.events.some(e => /\(§\d/.test(e.text)), 'events carry their reasons');
  const out = spawnSync(join(root, 'target', 'release', 'gradesim'), ['replay', saved], { encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  assert.match(out.stdout, /crashes/);
  assert.match(out.stdout, /replayed [\d.]+ s/);
  assert.match(out.stdout, /ok {4}Linearizability/);
});

test('a click drops a message in flight, one direction of a link can be cut, and speeds go past real time', { timeout: 90000 }, async () => {
  await withPage(async page => {
    await drive(page, () => { window.raftplay.playground().put('x', '1', undefined); window.raftplay.playground().advance(2); });
    // Step until a message is drawn between the nodes (over a node, a click
    // selects the node instead).
    let m;
    for (let i = 0; i < 50 && !m; i++) {
      m = (await page.evaluate(() => window.raftplay.droppable()))[0];
      if (!m) await drive(page, () => window.raftplay.playground().advance(1));
    }
    assert.ok(m, 'a message drawn between the nodes');
    const box = await page.locator('#cluster').boundingBox();
    await page.mouse.click(box.x + m.x, box.y + m.y);
    const actions = await page.evaluate(() => window.raftplay.playground().record().actions.map(a => a.action));
    const dropped = actions.find(a => a.do === 'drop_message');
    assert.ok(dropped, JSON.stringify(actions));
    assert.deepEqual([dropped.from, dropped.to], [m.from, m.to]);
    const lost = await page.evaluate(m => window.raftplay.playground().messages().find(x => x.from === m.from && x.to === m.to && x.sent_ms === m.sent_ms), m);
    assert.equal(lost.lost, 'dropped');

    await page.keyboard.press('1');
    await page.click('#cut-row button >> text=S2');
    const cuts = await page.evaluate(() => window.raftplay.playground().cuts());
    assert.deepEqual(cuts, [[0, 1]], 'only S1 to S2 is cut');

    await page.evaluate(() => { const s = document.getElementById('speed'); s.value = '150'; s.dispatchEvent(new Event('input')); });
    assert.equal(await page.textContent('#speed-out'), '10×');
  });
});

test('the paper preset turns every extension off for the next cluster, and the form says which preset is on', { timeout: 60000 }, async () => {
  await withPage(async page => {
    assert.equal(await page.inputValue('#preset'), 'course');
    await page.selectOption('#preset', 'paper');
    assert.match(await page.textContent('#banner'), /new cluster/);
    await page.click('#new');
    const o = await page.evaluate(() => window.raftplay.playground().options());
    assert.deepEqual(
      [o.pre_vote, o.check_quorum, o.vote_guard, o.forward, o.probe, o.read_mode, o.fanout, o.batch],
      [false, false, false, false, false, 'log', 'all', 1]);
    assert.equal(await page.inputValue('#preset'), 'paper');
    // A get goes through the log: it is answered once its own entry commits.
    const said = await page.evaluate(() => {
      const pg = window.raftplay.playground();
      pg.advance(3000);
      pg.put('x', '1', undefined);
      pg.advance(500);
      const before = pg.nodes().find(n => n.role === 'leader').log_len;
      pg.get('x', undefined);
      pg.advance(500);
      const after = pg.nodes().find(n => n.role === 'leader').log_len;
      return { grew: after - before, text: pg.recentEvents().map(e => e.text).join('\n') };
    });
    assert.equal(said.grew, 1, 'the get appended one entry');
    assert.match(said.text, /S\d serves a read through the log: its entry at index \d+ committed \(§8\)/);
    await page.check('#prevote');
    assert.equal(await page.inputValue('#preset'), 'custom');
  });
});
