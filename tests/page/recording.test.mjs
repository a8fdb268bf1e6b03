// A recorded real run replayed on the playground's own page (issue "Your
// replica in the browser"): it opens by link, by file, by import and by
// drag and drop onto the page; it takes the playground's canvas, timeline,
// history lane and inspector, and hides what only a simulated cluster has;
// it marks the wrong gets and jumps to the first, labels a datagram type
// the student invented, marks two replicas claiming to lead at once, and
// shows the replicas' prints; a foreign file says so; "back to the
// playground" gives the simulated cluster back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, unlinkSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { withPage, root } from './serve.mjs';

const recordingUp = () => window.recording && window.raftplay && window.raftplay.playground();

function recording(name = 'made-up') {
  const ids = ['0000', '0001', '0002'];
  const lines = [{ kind: 'header', format: 'raftplay-recording', version: 1, config: { name }, seed: 7, replicas: ids, clients: ['0013'], start: 0 }];
  for (let i = 0; i < 200; i++) {
    const t = 1000 + i * 500;
    const src = ids[i % 3], dst = ids[(i + 1) % 3];
    const type = i % 10 === 0 ? 'gossip_hello' : 'append';
    // From 80 ms on, 0001 names itself leader too, while 0000 still does.
    const leader = src === '0001' && t >= 80000 ? '0001' : '0000';
    lines.push({ kind: 'datagram', t, src, dst, fate: i % 7 === 0 ? 'dropped' : 'delivered', json: { src, dst, leader, type } });
  }
  lines.push({ kind: 'print', t: 2000, replica: '0001', stream: 'stdout', line: 'DEBUG: I am a follower' });
  lines.push({ kind: 'verdict', t: 40000, mid: 'M1', verdict: 'ok' });
  lines.push({ kind: 'verdict', t: 60000, mid: 'M2', verdict: 'wrong_value', got: '1', expected: '2' });
  // A put sent at 70 ms that no replica ever answers.
  lines.push({ kind: 'datagram', t: 70000, src: '0013', dst: '0000', fate: 'delivered', json: { src: '0013', dst: '0000', leader: 'FFFF', type: 'put', MID: 'M3', key: 'k', value: 'v' } });
  lines.push({ kind: 'verdict', t: 99000, mid: 'M3', verdict: 'unanswered' });
  lines.push({ kind: 'score', score: { passed: false, total_msgs: 200, failures: 0, duplicates: 0, median_latency: 0.001, tiers: ['bonus', 'bonus', 'bonus', 'partial'], checks: [{ name: 'incorrect', ok: false, detail: '1 incorrect' }] } });
  return lines.map(l => JSON.stringify(l)).join('\n') + '\n';
}

const visible = (page, sel) => page.locator(sel).isVisible();

test('a recording opens on the playground by link, file, import and drop, with red marks, custom types, two leaders and prints', { timeout: 90000 }, async () => {
  const served = join(root, 'www', 'test-recording.jsonl');
  writeFileSync(served, recording());
  const dir = mkdtempSync(join(tmpdir(), 'raftplay-'));
  const local = join(dir, 'run.jsonl');
  writeFileSync(local, recording('by-file'));
  const imported = join(dir, 'imported.jsonl');
  writeFileSync(imported, recording('by-import'));
  const bad = join(dir, 'bad.jsonl');
  writeFileSync(bad, '{"kind": "something"}\n');
  try {
    // withPage fails the test on any page error.
    await withPage('index.html?record=test-recording.jsonl', async page => {
      await page.waitForFunction(() => /made-up \(seed 7\), 3 replicas/.test(document.getElementById('rec-title').textContent));
      assert.match(await page.textContent('#rec-summary'), /201 datagrams, 3 verdicts \(2 red\), 1 printed lines; score: FAIL, total_msgs 200 \(bonus\), .*median latency 1\.000 ms \(partial\); failed: incorrect: 1 incorrect/);
      // The playground's own canvas, timeline and lane; its logs, key-value,
      // client and partition rows are not a recording's.
      for (const sel of ['#cluster', '#lane', '#timeline', '#rec-bar', '#prints']) assert.ok(await visible(page, sel), `${sel} shows`);
      for (const sel of ['#logs', '#kv', '#client', '#partition-row', '#events', '#new']) assert.ok(!(await visible(page, sel)), `${sel} is hidden`);
      assert.ok(await page.locator('#rec-legend li[data-type="gossip_hello"]').count() === 1, 'the invented type is in the legend');
      assert.equal(await page.locator('.rec-mark:not(.seen)').count(), 2, 'two red marks: the wrong get and the unanswered put');
      // The unanswered put is marked where it was sent (70 ms of the run's
      // 100), not where the grader gave up on it; what the wire shows (two
      // leaders, a request nobody answered) is marked too.
      const left = await page.locator('.rec-mark[title*="M3 unanswered"]').evaluate(m => parseFloat(m.style.left));
      assert.ok(Math.abs(left - 70) < 1, `the unanswered put marked at ${left}%`);
      const seen = await page.locator('.rec-mark.seen').evaluateAll(ms => ms.map(m => m.title));
      assert.ok(seen.some(t => /0000 and 0001 both named themselves leader/.test(t)), seen.join('; '));
      // The first problem in time is the wrong get; the next problem goes there.
      await page.click('#next-problem');
      const s = await page.evaluate(() => window.recording.state());
      assert.ok(s.t <= 60000 && s.t >= 56000, `jumped to ${s.t}`);
      // At t = 1 ms + 10 datagrams, the invented type is in flight and labelled.
      await page.evaluate(() => window.recording.seek(1000 + 500 * 10 + 200));
      await page.waitForFunction(() => window.recording.placed().some(p => p.type === 'gossip_hello'));
      // A click on it shows its JSON in the inspector.
      const gossip = (await page.evaluate(() => window.recording.placed())).find(p => p.type === 'gossip_hello');
      const ring = await page.locator('#cluster').boundingBox();
      await page.mouse.click(ring.x + gossip.x, ring.y + gossip.y);
      assert.match(await page.textContent('#inspect-body'), /"type": "gossip_hello"/);
      // A click on a type in the legend hides its datagrams on the ring, and
      // step skips them; a second click shows them again.
      await page.click('#rec-legend li[data-type="append"]');
      await page.evaluate(() => window.recording.seek(1000 + 500 * 10 + 200));
      assert.ok(!(await page.evaluate(() => window.recording.placed())).some(p => p.type === 'append'), 'appends hidden');
      await page.click('#step');
      assert.equal((await page.evaluate(() => window.recording.state())).t, 1000 + 500 * 20, 'step skips to the next gossip_hello');
      await page.click('#rec-legend li[data-type="append"]');
      await page.evaluate(() => window.recording.seek(1000 + 500 * 10 + 200));
      assert.ok((await page.evaluate(() => window.recording.placed())).some(p => p.type === 'append'), 'appends shown again');
      // The space-time diagram (l): every datagram of the last 40 ms an
      // arrow, the dropped ones too; a click on one shows its JSON; l again
      // gives the ring back.
      await page.keyboard.press('l');
      assert.equal(await page.evaluate(() => window.recording.view()), 'lamport');
      await page.evaluate(() => window.recording.seek(30000));
      const arrows = await page.evaluate(() => window.recording.placed());
      // Datagrams every 0.5 ms from 1 ms: those sent in (−10 ms, 30 ms],
      // the window and the arrows' slant, all of them (none hidden).
      assert.equal(arrows.length, 59, `${arrows.length} arrows`);
      assert.ok(arrows.some(p => p.type === 'gossip_hello'));
      const box = await page.locator('#cluster').boundingBox();
      const one = arrows.find(p => p.type === 'gossip_hello');
      await page.mouse.click(box.x + one.x, box.y + one.y);
      assert.match(await page.textContent('#inspect-body'), /"type": "gossip_hello"/);
      await page.keyboard.press('l');
      assert.equal(await page.evaluate(() => window.recording.view()), 'ring');
      await page.evaluate(() => window.recording.seek(3000));
      await page.waitForFunction(() => /DEBUG: I am a follower/.test(document.getElementById('prints').textContent));
      assert.match(await page.textContent('#prints'), /\[0001 stdout\]/);
      // Two replicas name themselves leader at once: the ring says so.
      assert.deepEqual(await page.evaluate(() => window.recording.leaders()), ['0000']);
      await page.evaluate(() => window.recording.seek(90000));
      assert.deepEqual(await page.evaluate(() => window.recording.leaders()), ['0000', '0001']);
      // The put never answered turns red in the lane when the grader says so.
      await page.waitForFunction(() => window.recording.bars().some(b => b.mid === 'M3' && b.verdict === null));
      await page.evaluate(() => window.recording.seek(99500));
      await page.waitForFunction(() => window.recording.bars().some(b => b.mid === 'M3' && b.verdict === 'unanswered'));
      // A problem about a request shows the request's path: every datagram
      // with its MID.
      await page.click('#problems li:has-text("MID M3 unanswered")');
      assert.match(await page.textContent('#inspect-body'), /its path, 1 datagram with MID M3:\n0\.070000 {2}0013 → 0000 {2}put/);
      // A click on a grader line in the aside goes to its moment.
      await page.click('#prints li.bad >> nth=0');
      assert.equal((await page.evaluate(() => window.recording.state())).t, 60000);
      // By the file picker, by import, by drop; a file that is not a
      // recording says so and the recording shown stays.
      await page.setInputFiles('#record-file', local);
      await page.waitForFunction(() => /Opened run\.jsonl/.test(document.getElementById('banner').textContent));
      assert.match(await page.textContent('#rec-title'), /by-file/);
      await page.setInputFiles('#record-file', bad);
      await page.waitForFunction(() => /could not be opened: no header line: not a raftplay recording/.test(document.getElementById('banner').textContent));
      assert.match(await page.textContent('#rec-title'), /by-file/);
      // A seed above 2^53 is shown whole, not rounded as a JavaScript number.
      const big = mkdtempSync(join(tmpdir(), 'raftplay-'));
      writeFileSync(join(big, 'big.jsonl'), recording('big-seed').replace('"seed":7', '"seed":10823763368351835329'));
      await page.setInputFiles('#record-file', join(big, 'big.jsonl'));
      await page.waitForFunction(() => /big-seed \(seed 10823763368351835329\)/.test(document.getElementById('rec-title').textContent));
      rmSync(big, { recursive: true, force: true });
      await page.setInputFiles('#import-file', imported);
      await page.waitForFunction(() => /by-import/.test(document.getElementById('rec-title').textContent));
      const dropped = await page.evaluateHandle(text => {
        const dt = new DataTransfer();
        dt.items.add(new File([text], 'dropped.jsonl'));
        return dt;
      }, recording('by-drop'));
      await page.dispatchEvent('body', 'drop', { dataTransfer: dropped });
      await page.waitForFunction(() => /by-drop/.test(document.getElementById('rec-title').textContent));
      // Back to the playground: the simulated cluster and its panels again.
      await page.click('#rec-close');
      assert.ok(await visible(page, '#logs'));
      assert.ok(!(await visible(page, '#rec-bar')));
      await page.keyboard.press(' ');
      await page.waitForFunction(() => window.raftplay.playground().nowMs() > 100);
    }, { ready: recordingUp });
  } finally {
    unlinkSync(served);
    rmSync(dir, { recursive: true, force: true });
  }
});

// Real runs of two replicas that are not ours in spirit, recorded by
// gradesim udp: the instant replica's wrong gets are marked and the jump
// lands on the first; the Python replica's own `gossip` type and its debug
// prints are drawn.
function recordReal(replica, name) {
  const file = join(root, 'www', `test-${name}.jsonl`);
  const out = spawnSync(join(root, 'target', 'release', 'gradesim'), [
    'udp', join(root, 'configs', 'partition.json'), '--replica', replica,
    '--time-scale', '0.3', '--seed', '1', '--record', file,
    // The fast router: requests at their own moments, so that the lane's
    // bars stand apart for the clicks below (the course's router fires
    // the requests due after each pass together).
    '--router', 'fast',
  ], { encoding: 'utf8' });
  assert.ok(out.status === 0 || out.status === 1, out.stderr);
  return { file, lines: readFileSync(file, 'utf8').trim().split('\n').map(l => JSON.parse(l)) };
}

test('real recordings of the instant replica and a Python replica replay with their wrong gets, types and prints; a simulated one too', { timeout: 120000 }, async () => {
  const instant = recordReal(join(root, 'target', 'release', 'examples', 'instant_replica'), 'instant');
  const python = recordReal(join(root, 'tests', 'fixtures', 'buggy_replica.py'), 'python');
  const firstWrong = instant.lines.find(l => l.kind === 'verdict' && l.verdict === 'wrong_value');
  assert.ok(firstWrong, 'the instant replica gave a wrong get');
  const simFile = join(root, 'www', 'test-sim.jsonl');
  const gossip = python.lines.find(l => l.kind === 'datagram' && l.json && l.json.type === 'gossip');
  assert.ok(gossip, 'the Python replica gossiped');
  try {
    await withPage('index.html?record=test-instant.jsonl', async (page, { server }) => {
      await page.waitForFunction(() => /partition \(seed 1\), 5 replicas/.test(document.getElementById('rec-title').textContent));
      assert.ok(await page.locator('.rec-mark').count() >= 1, 'red marks at the wrong gets');
      await page.click(`#problems li:has-text("MID ${firstWrong.mid} got")`);
      const s = await page.evaluate(() => window.recording.state());
      assert.ok(s.t <= firstWrong.t && s.t >= firstWrong.t - 5000, `jumped to ${s.t}, the first wrong get is at ${firstWrong.t}`);
      // A moment after, the wrong get is a red bar in the history lane; a
      // click on it says what was expected.
      await page.evaluate(t => window.recording.seek(t + 1000), firstWrong.t);
      await page.waitForFunction(mid => window.recording.bars().some(b => b.mid === mid), firstWrong.mid);
      const bar = (await page.evaluate(() => window.recording.bars())).find(b => b.mid === firstWrong.mid);
      assert.equal(bar.verdict, 'wrong_value');
      const lane = await page.locator('#lane').boundingBox();
      await page.mouse.click(lane.x + bar.x, lane.y + bar.y);
      assert.match(await page.textContent('#inspect-body'), new RegExp(`MID ${firstWrong.mid}\\), sent [\\d.]+ s: wrong value: got "", expected "\\w+"`));
      // Step goes to the next datagram; space plays and pauses.
      const before = (await page.evaluate(() => window.recording.state())).t;
      await page.click('#step');
      const after = (await page.evaluate(() => window.recording.state())).t;
      const next = instant.lines.filter(l => l.kind === 'datagram' && l.t > before).map(l => l.t).sort((a, b) => a - b)[0];
      assert.equal(after, next, 'step lands on the next datagram');
      await page.keyboard.press(' ');
      assert.equal((await page.evaluate(() => window.recording.state())).playing, true);
      await page.keyboard.press(' ');

      // The old viewer's address forwards to the playground.
      await page.goto(`${server.url}recording.html?record=test-python.jsonl`);
      await page.waitForURL(/index\.html\?record=test-python\.jsonl$/);
      await page.waitForFunction(() => /partition \(seed 1\), 5 replicas/.test(document.getElementById('rec-title').textContent));
      await page.evaluate(t => window.recording.seek(t), gossip.t + 50);
      await page.waitForFunction(() => window.recording.placed().some(p => p.type === 'gossip'));
      await page.waitForFunction(() => /gossiping/.test(document.getElementById('prints').textContent));

      // A simulated run, recorded by gradesim sim, opens with the same loader.
      const sim = spawnSync(join(root, 'target', 'release', 'gradesim'), [
        'sim', join(root, 'configs', 'crash.json'), '--seed', '2', '--record', simFile,
      ], { encoding: 'utf8' });
      assert.equal(sim.status, 0, sim.stdout + sim.stderr);
      await page.goto(`${server.url}index.html?record=test-sim.jsonl`);
      await page.waitForFunction(() => /crash \(seed 2\), 5 replicas, simulated/.test(document.getElementById('rec-title').textContent));
      assert.match(await page.textContent('#rec-summary'), /score: PASS/);
    }, { ready: recordingUp });
  } finally {
    unlinkSync(instant.file);
    unlinkSync(python.file);
    rmSync(simFile, { force: true });
  }
});

// A Python replica that never clears its vote (tests/fixtures/vote_bug_replica.py),
// recorded by gradesim udp on a small config with a leader kill: after the
// kill no election ends. The strip shows the stretch with no leader, the
// problems list names it, and "next problem" lands on it.
test('a replica whose elections never end after the leader dies: the strip shows no leader, the diagnosis names it, next problem lands on it', { timeout: 120000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'raftplay-'));
  const config = join(dir, 'vote-bug.json');
  writeFileSync(config, JSON.stringify({
    lifetime: 8, replicas: 3, requests: 60, mix: 0.5,
    events: [{ type: 'kill_leader', time: 3 }],
    tests: { benchmarks: { total_msgs: [2000, 4000, 5000], failures: [1, 4, 10], duplicates: [0, 2, 10], median_latency: [0.0002, 0.005, 0.05] } },
  }));
  const file = join(root, 'www', 'test-vote-bug.jsonl');
  try {
    const out = spawnSync(join(root, 'target', 'release', 'gradesim'), [
      'udp', config, '--replica', join(root, 'tests', 'fixtures', 'vote_bug_replica.py'), '--seed', '1', '--record', file,
    ], { encoding: 'utf8' });
    assert.equal(out.status, 1, `the run fails: ${out.stdout}${out.stderr}`);
    const kill = readFileSync(file, 'utf8').trim().split('\n').map(l => JSON.parse(l)).find(l => l.kind === 'fault');
    await withPage('index.html?record=test-vote-bug.jsonl', async page => {
      await page.waitForFunction(() => /vote-bug \(seed 1\), 3 replicas/.test(document.getElementById('rec-title').textContent));
      // The strip: the killed leader's row ends dead at the kill, and the
      // cluster's row has a stretch of more than 2 s with no leader, to the end.
      const story = await page.evaluate(() => window.recording.story());
      const killed = story.rows.find(r => r.id === kill.killed[0]);
      assert.equal(killed.stretches.at(-1).what, 'dead');
      assert.equal(killed.stretches.at(-1).t0, kill.t);
      const end = await page.evaluate(() => window.recording.state().end);
      const none = story.leaders.filter(s => s.what === 'none' && s.t1 === end && s.t1 - s.t0 > 2e6);
      assert.equal(none.length, 1, JSON.stringify(story.leaders.slice(-3)));
      assert.ok(story.leaders.some(s => s.what === 'one' && s.t0 < kill.t), 'a leader before the kill');
      // The plots: requests answered ok before the kill, none once no
      // election ends; the replicas keep sending (their candidacies).
      const { rates } = story;
      const before = (list, t) => list.filter((_, i) => (i + 1) * rates.span <= t).reduce((a, b) => a + b, 0);
      const after = (list, t) => list.filter((_, i) => i * rates.span > t).reduce((a, b) => a + b, 0);
      assert.ok(before(rates.ok, kill.t) > 0, 'answers before the kill');
      assert.equal(after(rates.ok, none[0].t0), 0, 'no answer once nobody leads');
      assert.ok(after(rates.sent, none[0].t0) > 0, 'datagrams while nobody leads');
      // The problems list names it.
      const problems = await page.evaluate(() => window.recording.problems());
      const diagnosis = problems.find(p => p.kind === 'diagnosis' && /^no datagram named a leader for/.test(p.what));
      assert.ok(diagnosis, JSON.stringify(problems));
      assert.match(await page.textContent('#problems'), /no datagram named a leader for [\d.]+ s .*are votes cleared when the term changes\?/);
      // "next problem", pressed from the start, lands on it in turn.
      let landed = false;
      for (let i = 0; i < problems.length && !landed; i++) {
        await page.click('#next-problem');
        landed = /^no datagram named a leader/.test(await page.textContent('#inspect-body'));
      }
      assert.ok(landed, 'next problem reached the diagnosis');
      assert.equal((await page.evaluate(() => window.recording.state())).t, Math.max(0, diagnosis.t - 3000));
      // The README's walk through a failing replica shows this moment.
      mkdirSync(join(root, 'docs', 'img'), { recursive: true });
      await page.screenshot({ path: join(root, 'docs', 'img', 'your-replica.png') });
      // A click on the strip, at the stretch's middle, goes there; the tip
      // says that nobody claims to lead.
      const box = await page.locator('#story').boundingBox();
      const mid = (none[0].t0 + none[0].t1) / 2;
      const x = box.x + 44 + (mid / end) * (box.width - 44 - 2);
      await page.mouse.move(x, box.y + 5);
      await page.waitForFunction(() => /no live replica claims to lead/.test(document.getElementById('tip').textContent));
      await page.mouse.click(x, box.y + 5);
      const t = (await page.evaluate(() => window.recording.state())).t;
      assert.ok(Math.abs(t - mid) < end / 100, `the click went to ${t}, the middle is ${mid}`);
    }, { ready: recordingUp });
  } finally {
    rmSync(file, { force: true });
    rmSync(dir, { recursive: true, force: true });
  }
});
