// The page checks (issue "The page checks", parts 1 and 2): safety lights
// that stay green while the properties hold, turn red on the first
// violation with one sentence, pause the run and mark the moment; and bug
// hunts that plant one of the core's variants and name it when found.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withPage } from './serve.mjs';
import { encodeRecord } from '../../www/link.js';

// The page at `hash`, once a link it holds has replayed.
const open = (hash, body) => withPage(hash, async page => {
  await page.waitForFunction(() => !window.raftplay.replaying(), null, { timeout: 30000 });
  await body(page);
});

const lights = page => page.evaluate(() => window.raftplay.lights());
// A bug hunt as a link: `hunt` picks `Bug::ALL[hunt % 12]`.
const hunt = (n, options = {}) => `#run=${encodeRecord({ version: 1, options: { nodes: 5, seed: 1, hunt: n, ...options }, actions: [], time: 0 })}`;

test('five lights (and one for the further checks) stay green on the correct core', { timeout: 60000 }, async () => {
  await open('', async page => {
    await page.evaluate(() => { const pg = window.raftplay.playground(); pg.setAuto(true); pg.advance(8000); });
    await page.waitForTimeout(200);
    const l = await lights(page);
    assert.deepEqual(l.map(x => x.name), ['Election Safety', 'Log Matching', 'Leader Completeness', 'State Machine Safety', 'Linearizability', 'More checks']);
    assert.ok(l.every(x => x.ok), JSON.stringify(l));
    assert.equal(await page.locator('.light.bad').count(), 0);
    assert.equal(await page.evaluate(() => window.raftplay.hunt()), null);
  });
});

test('reads_unchecked: a stale read from a cut-off leader turns Linearizability red, pauses, marks the moment, and names the bug', { timeout: 90000 }, async () => {
  // reads_unchecked is variant 11; CheckQuorum off so that the cut-off
  // leader keeps leading, as the bug needs.
  await open(hunt(11, { check_quorum: false }), async page => {
    assert.equal(await page.isVisible('#give-up'), true);
    const at = await page.evaluate(() => {
      const pg = window.raftplay.playground();
      pg.advance(2500);
      const old = pg.nodes().find(n => n.role === 'leader').id;
      pg.put('x', '1', old);
      pg.advance(500);
      pg.partition([[old]]);
      pg.advance(4000);
      const now = pg.nodes().find(n => n.role === 'leader' && n.id !== old).id;
      pg.put('x', '2', now);
      pg.advance(500);
      pg.get('x', old);
      pg.advance(300);
      return pg.nowMs();
    });
    await page.waitForFunction(() => document.querySelector('.light.bad'));
    const red = (await lights(page)).filter(l => !l.ok);
    assert.equal(red.length, 1);
    assert.equal(red[0].name, 'Linearizability');
    assert.match(red[0].text, /the client's history cannot be ordered: get x returned "1" \(invoked at [\d.]+ s\), but put x=2 had completed at [\d.]+ s, after put x=1 completed/);
    assert.ok(red[0].at_ms <= at);
    assert.match(await page.textContent('#alarm'), /Linearizability broke at [\d.]+ s/);
    assert.equal(await page.isVisible('#timeline-mark'), true);
    assert.match(await page.textContent('#play'), /play/, 'paused');
    assert.match(await page.textContent('#hunt-note'), /you found it\. The planted bug was reads_unchecked/);
    // The history lane shows the stale get, and outlines the broken key.
    const lane = await page.evaluate(() => window.raftplay.playground().historySince(0));
    assert.equal(lane.broken, 'x');
    const stale = lane.ops.find(o => o.key === 'x' && o.put === null);
    assert.equal(stale.result, '1', 'the get returned the overwritten value');
    // The smallest set that cannot be ordered is marked: both puts and the
    // stale get, nothing else.
    const marked = lane.ops.filter(o => o.unorderable).map(o => o.put ?? `get ${o.result}`);
    assert.deepEqual(marked, ['1', '2', 'get 1']);
    const bars = await page.evaluate(() => window.raftplay.bars());
    const bar = bars.find(b => b.op.key === 'x' && b.op.put === null);
    assert.ok(bar, 'the stale get is drawn');
    const box = await page.locator('#lane').boundingBox();
    await page.mouse.move(box.x + bar.x, box.y + bar.y);
    await page.waitForFunction(() => /get x, invoked at [\d.]+ s: ok, "1" from S\d/.test(document.getElementById('tip').textContent));
    await page.mouse.click(box.x + bar.x, box.y + bar.y);
    assert.ok((await page.textContent('#inspect-title')).startsWith(`S${bar.op.answered_by + 1}`));
    await page.click('#alarm-jump');
    await page.waitForFunction(() => !window.raftplay.replaying());
    const now = await page.evaluate(() => window.raftplay.playground().nowMs());
    assert.ok(Math.abs(now - red[0].at_ms) < 1, `jumped to ${now}`);
  });
});

test('giving up names the planted bug and its rule', { timeout: 60000 }, async () => {
  await open(hunt(0), async page => {
    await page.click('#give-up');
    const text = await page.textContent('#hunt-note');
    assert.match(text, /You gave up\. The planted bug was commit_old_terms: it breaks the rule "§5\.4\.2/);
    // The seed is the exam's first catch (tests/exam.rs checks each one).
    assert.match(text, /gradesim chaos --bug commit_old_terms --seed \d+ --seeds 1 --trace/);
    assert.equal(await page.isVisible('#give-up'), false);
  });
});

test('the hunt button plants a bug without saying which', { timeout: 60000 }, async () => {
  await open('', async page => {
    await page.click('#hunt');
    assert.match(await page.textContent('#banner'), /A bug is planted/);
    assert.doesNotMatch(await page.textContent('#banner'), /commit_old_terms|no_up_to_date_check|reads_unchecked/);
    const options = await page.evaluate(() => window.raftplay.playground().options());
    assert.equal(typeof options.hunt, 'number');
    assert.equal(await page.isVisible('#give-up'), true);
  });
});

// Paper timing (no PreVote, no vote guard, no CheckQuorum, ReadIndex reads)
// so that a forced timeout acts at once and no lease is in play.
const paper = { nodes: 3, pre_vote: false, vote_guard: false, check_quorum: false, forward: false, read_mode: 'read_index' };

test('no_up_to_date_check: a node without a committed entry is elected, and Leader Completeness turns red', { timeout: 90000 }, async () => {
  await open(hunt(1, paper), async page => {
    await page.evaluate(() => {
      const pg = window.raftplay.playground();
      pg.advance(2000);
      const nodes = pg.nodes();
      const l = nodes.find(n => n.role === 'leader').id;
      const behind = nodes.find(n => n.id !== l && n.id !== (l + 1) % 3).id;
      pg.cut(l, behind); // it never hears of x=1
      pg.put('x', '1', l);
      pg.advance(300);
      pg.crash(l);
      pg.timeout(behind); // the other votes for it: §5.4.1 is off
      pg.advance(800);
    });
    await page.waitForFunction(() => document.querySelector('.light.bad'));
    const red = (await lights(page)).filter(l => !l.ok);
    assert.deepEqual(red.map(l => l.name), ['Leader Completeness']);
    assert.match(red[0].text, /leads term 2 without the entries committed up to index 2/);
    assert.match(await page.textContent('#hunt-note'), /no_up_to_date_check/);
  });
});

test('keep_conflicts: a follower keeps entries that conflict with the leader\'s, and Log Matching turns red', { timeout: 90000 }, async () => {
  await open(hunt(8, paper), async page => {
    await page.evaluate(() => {
      const pg = window.raftplay.playground();
      pg.advance(2000);
      const nodes = pg.nodes();
      const l = nodes.find(n => n.role === 'leader').id;
      const f = nodes.find(n => n.id !== l).id;
      pg.partition([[l]]); // the old leader takes three puts it cannot commit
      pg.put('a', '1', l); pg.put('b', '2', l); pg.put('c', '3', l);
      pg.advance(200);
      pg.timeout(f);
      pg.advance(500);
      pg.put('d', '4', f);
      pg.advance(300);
      pg.heal(); // its entries are overwritten one by one, the rest kept
      pg.advance(1500);
      pg.put('e', '5', f);
      pg.advance(1000);
    });
    await page.waitForFunction(() => document.querySelector('.light.bad'));
    const red = (await lights(page)).filter(l => !l.ok);
    assert.deepEqual(red.map(l => l.name), ['Log Matching']);
    assert.ok(red[0].nodes.length >= 1, 'the node is named and ringed');
    assert.match(await page.textContent('#hunt-note'), /keep_conflicts/);
  });
});

test('forget_voted_for: a restarted voter votes twice in one term, and Election Safety turns red', { timeout: 90000 }, async () => {
  await open(hunt(7, paper), async page => {
    await page.evaluate(() => {
      const pg = window.raftplay.playground();
      pg.advance(2000);
      const nodes = pg.nodes();
      const old = nodes.find(n => n.role === 'leader').id;
      const [x, y] = nodes.filter(n => n.id !== old).map(n => n.id);
      pg.cut(x, y); // y never hears x's new term
      pg.timeout(x); // x asks the old leader for its vote in the next term
      for (let i = 0; i < 300 && pg.nodes()[old].voted_for !== x; i++) pg.advance(1);
      pg.crash(old); // the voter restarts without its vote (the bug)
      pg.restart(old);
      pg.timeout(y); // y asks in the same term, and gets that vote again
      pg.advance(300);
    });
    // First the restart breaks a further check (the vote was not kept);
    // the checks go on, and the second leader of the term turns Election
    // Safety red.
    await page.waitForFunction(() => document.querySelector('.light.bad[data-check="Election Safety"]'));
    const red = (await lights(page)).filter(l => !l.ok);
    assert.deepEqual(red.map(l => l.name), ['Election Safety', 'More checks']);
    assert.match(red[0].text, /S\d and S\d both lead term \d+/);
    assert.equal(red[0].nodes.length, 2, 'both leaders are ringed');
    assert.match(red[1].text, /^Persistent State: S\d restarted with term \d+, vote none/);
    assert.match(await page.textContent('#alarm-text'), /^Election Safety broke at/);
    assert.match(await page.textContent('#hunt-note'), /forget_voted_for/);
  });
});

test('uncapped_follower_commit: a follower commits its stale entries past what the leader sent, and State Machine Safety turns red', { timeout: 90000 }, async () => {
  // One entry per AppendEntries, so that the leader's commit index runs
  // ahead of what one message vouches for.
  await open(hunt(5, { ...paper, batch: 1 }), async page => {
    await page.evaluate(() => {
      const pg = window.raftplay.playground();
      pg.advance(2000);
      const nodes = pg.nodes();
      const a = nodes.find(n => n.role === 'leader').id;
      const b = nodes.find(n => n.id !== a).id;
      pg.put('x', '1', a); pg.put('y', '1', a); // committed, of a's term
      pg.advance(500);
      pg.partition([[a]]); // a takes three puts it cannot commit
      pg.put('a', '1', a); pg.put('b', '1', a); pg.put('c', '1', a);
      pg.advance(200);
      pg.timeout(b); // b leads the next term and commits three others
      pg.advance(500);
      pg.put('d', '2', b); pg.put('e', '2', b); pg.put('f', '2', b);
      pg.advance(500);
      pg.heal(); // a matches an old entry, and commits its stale ones past it
      pg.advance(1500);
    });
    await page.waitForFunction(() => document.querySelector('.light.bad'));
    const red = (await lights(page)).filter(l => !l.ok);
    assert.equal(red[0].name, 'State Machine Safety');
    assert.match(red[0].text, /the stores of S\d and S\d differ after applying \d+ entries/);
    assert.equal(red[0].nodes.length, 2, 'both nodes are ringed');
    assert.match(await page.textContent('#alarm-text'), /^State Machine Safety broke at/);
    assert.match(await page.textContent('#hunt-note'), /uncapped_follower_commit/);
  });
});
