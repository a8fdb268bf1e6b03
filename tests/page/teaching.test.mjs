// The page teaches without surprises: the events list neither repeats
// itself after a scrub nor stops following, and says when it drops lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withPage, assertRingWhole, serve, browser } from './serve.mjs';

const lines = () => [...document.querySelectorAll('#events li')].map(li => li.textContent);

test('scrubbing back lists each event once, also after a fork', { timeout: 60000 }, async () => {
  await withPage('', async page => {
    await page.waitForFunction(() => window.raftplay.playground().nowMs() > 3000, null, { timeout: 30000 });
    await page.keyboard.press(' ');
    const end = await page.evaluate(() => window.raftplay.playground().nowMs());
    await page.evaluate(ms => {
      const t = document.getElementById('timeline');
      t.value = String(Math.round(ms / 3));
      t.dispatchEvent(new Event('input'));
      t.dispatchEvent(new Event('change'));
    }, end);
    await page.waitForFunction(() => !window.raftplay.replaying());
    await page.waitForTimeout(300);
    let shown = await page.evaluate(lines);
    assert.ok(shown.length > 5, shown.join('\n'));
    assert.equal(new Set(shown).size, shown.length, `repeated lines:\n${shown.join('\n')}`);
    // Fork: act at that moment, then play on.
    await page.evaluate(() => window.raftplay.playground().crash(0));
    await page.keyboard.press(' ');
    await page.waitForTimeout(1500);
    shown = await page.evaluate(lines);
    assert.equal(new Set(shown).size, shown.length, `repeated lines after a fork:\n${shown.join('\n')}`);
  });
});

test('the events list follows the newest line unless scrolled up, and says what it dropped', { timeout: 60000 }, async () => {
  await withPage('', async page => {
    await page.keyboard.press('a');
    await page.keyboard.press('+');
    await page.keyboard.press('+');
    await page.waitForFunction(() => document.querySelectorAll('#events li').length >= 200, null, { timeout: 30000 });
    await page.waitForTimeout(2000);
    const gap = await page.$eval('#events', l => l.scrollHeight - l.scrollTop - l.clientHeight);
    assert.ok(gap < 10, `the list is ${gap} px from its end`);
    assert.match(await page.textContent('#events-dropped'), /\d+ earlier events are not listed/);
    // Scrolled up, it stays where the student is.
    const box = await page.locator('#events').boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.wheel(0, -400);
    await page.waitForTimeout(300);
    const held = await page.$eval('#events', l => l.scrollHeight - l.scrollTop - l.clientHeight);
    assert.ok(held > 100, `the list is still at its end (${held} px)`);
    await page.waitForTimeout(1000);
    const later = await page.$eval('#events', l => l.scrollHeight - l.scrollTop - l.clientHeight);
    assert.ok(later > 100, `the list went back to following (${later} px from its end)`);
    // A slow frame brings many lines at once, more than the gap to the
    // end: those taken off the top must not carry the view to the end.
    await page.evaluate(() => { window.raftplay.playground().advance(3000); window.raftplay.redraw(); });
    await page.waitForTimeout(300);
    const burst = await page.$eval('#events', l => l.scrollHeight - l.scrollTop - l.clientHeight);
    assert.ok(burst > 100, `a burst of lines carried the list back to following (${burst} px from its end)`);
    // The page scrolling the list to its end itself (a whole list of new
    // lines at once does) is not the student coming back: it stays put.
    await page.$eval('#events', l => { l.scrollTop = l.scrollHeight; });
    await page.waitForTimeout(1500);
    const self = await page.$eval('#events', l => l.scrollHeight - l.scrollTop - l.clientHeight);
    assert.ok(self > 100, `a scroll the page made brought back following (${self} px from its end)`);
    // Back at the end by the wheel, it follows again.
    await page.mouse.wheel(0, 100000);
    await page.waitForTimeout(1500);
    const again = await page.$eval('#events', l => l.scrollHeight - l.scrollTop - l.clientHeight);
    assert.ok(again < 10, `scrolled back to the end, the list does not follow (${again} px from its end)`);
  });
});

test('a forced timeout the vote guard holds back says so, and until when', { timeout: 60000 }, async () => {
  await withPage('', async page => {
    // A follower that hears its leader.
    await page.waitForFunction(() => window.raftplay.playground().nodes().some(n => n.role === 'follower' && n.vote_guard_ms !== null && n.leader !== null), null, { timeout: 30000 });
    const follower = await page.evaluate(() => window.raftplay.playground().nodes().find(n => n.role === 'follower' && n.vote_guard_ms !== null && n.leader !== null).id);
    await page.keyboard.press(String(follower + 1));
    await page.keyboard.press('t');
    const text = await page.textContent('#banner');
    assert.match(text, new RegExp(`S${follower + 1} does not time out yet: it heard from its leader S\\d less than a minimum election timeout ago, so it holds back until \\d+\\.\\d{3} s`));
    assert.match(text, /vote guard, thesis §4\.2\.3/);
    assert.match(await page.textContent('#inspect-body'), /vote guard {2}until/);
  });
});

test('the form says which of its options are not in effect until "new cluster"', { timeout: 60000 }, async () => {
  await withPage('', async page => {
    await page.selectOption('#nodes', '3');
    await page.uncheck('#prevote');
    assert.equal(await page.isVisible('#pending'), true);
    const text = await page.textContent('#pending');
    assert.match(text, /not applied yet: 3 nodes, PreVote off/);
    assert.match(text, /this one runs 5 nodes, PreVote on/);
    assert.equal(await page.evaluate(() => window.raftplay.nodes().length), 5);
    await page.click('#new');
    assert.equal(await page.isVisible('#pending'), false);
    assert.equal(await page.evaluate(() => window.raftplay.playground().options().pre_vote), false);
    assert.equal(await page.evaluate(() => window.raftplay.nodes().length), 3);
  });
});

test('a hash set on an open page opens what it names', { timeout: 60000 }, async () => {
  await withPage('', async page => {
    // The page saves its run in the address bar once a second; a save that
    // falls between the hash being set and its hashchange must not replace
    // it (the saving is forced there, as a slow machine's frame would).
    await page.evaluate(async () => {
      const url = await import('/url.js');
      location.hash = '#scenario=first-election';
      url.saveUrl(performance.now() + 1e6);
    });
    await page.waitForFunction(() => !document.getElementById('card').hidden, null, { timeout: 10000 });
    assert.match(await page.textContent('#card-title'), /./);
    // While its card is open, the address keeps naming the scenario.
    await page.evaluate(async () => (await import('/url.js')).saveUrl(performance.now() + 1e6));
    assert.equal(await page.evaluate(() => location.hash), '#scenario=first-election');
  });
});

test('a hunt offers hints, says paper or thesis, and keeps its reveal on screen', { timeout: 60000 }, async () => {
  await withPage('', async page => {
    await page.click('#hunt');
    assert.match(await page.textContent('#banner'), /from the paper or from Ongaro's thesis/);
    await page.click('#hint-btn');
    const first = await page.textContent('#hunt-note');
    assert.match(first, /^Hint 1: Watch /);
    await page.click('#hint-btn');
    assert.match(await page.textContent('#hunt-note'), /Hint 2: /);
    assert.equal(await page.isDisabled('#hint-btn'), true);
    await page.click('#give-up');
    const bug = await page.evaluate(() => window.raftplay.hunt().bug.name);
    // The next message takes the banner; the reveal stays.
    await page.keyboard.press('h');
    assert.match(await page.textContent('#hunt-note'), new RegExp(`The planted bug was ${bug}`));
    assert.equal(await page.isVisible('#explore'), true, 'show me how is offered');
  });
});

// Presses "next" and waits until the step has run.
async function next(page) {
  await page.click('#card-next');
  await page.waitForFunction(() => !/running/.test(document.getElementById('card-step').textContent), null, { timeout: 30000 });
}

const roles = () => window.raftplay.playground().nodes().map(n => ({ role: n.role, term: n.term }));

test('a scenario card says what is on screen when it shows, step by step', { timeout: 90000 }, async () => {
  await withPage('#scenario=split-vote', async page => {
    assert.match(await page.textContent('#card-text'), /Press next/);
    await next(page);
    assert.match(await page.textContent('#card-text'), /both stand in term 1/);
    let r = await page.evaluate(roles);
    assert.equal(r.filter(n => n.role === 'candidate' && n.term === 1).length, 2, JSON.stringify(r));
    await next(page);
    assert.match(await page.textContent('#card-text'), /Nobody wins term 1/);
    r = await page.evaluate(roles);
    assert.equal(r.filter(n => n.role === 'leader').length, 0, JSON.stringify(r));
    assert.ok(r.every(n => n.term <= 1), JSON.stringify(r));
    await next(page);
    assert.match(await page.textContent('#card-text'), /won/);
    r = await page.evaluate(roles);
    assert.equal(r.filter(n => n.role === 'leader').length, 1, JSON.stringify(r));
    assert.ok(r.some(n => n.role === 'leader' && n.term >= 2), JSON.stringify(r));
  });
  await withPage('#scenario=first-election', async page => {
    await next(page);
    assert.match(await page.textContent('#card-text'), /\(pre-\)candidate/);
    let r = await page.evaluate(roles);
    assert.ok(r.some(n => n.role === 'candidate' || n.role === 'precandidate'), JSON.stringify(r));
    assert.equal(r.filter(n => n.role === 'leader').length, 0);
    await next(page);
    r = await page.evaluate(roles);
    assert.equal(r.filter(n => n.role === 'leader').length, 1, JSON.stringify(r));
  });
});

test('Figure 8 names its nodes A to E on the ring, and the logs have room for each cell\'s term', { timeout: 60000 }, async () => {
  await withPage('#scenario=figure-8', async page => {
    await page.evaluate(() => window.raftplay.runScenario(1));
    await page.evaluate(() => window.raftplay.redraw());
    const names = await page.evaluate(() => window.raftplay.ringNames());
    assert.deepEqual(names.map(([, n]) => n).sort(), ['A', 'B', 'C', 'D', 'E']);
    assert.equal(new Set(names.map(([id]) => id)).size, 5);
    const layout = await page.evaluate(() => window.raftplay.logLayout());
    assert.ok(layout.cell >= 11, `cells of ${layout.cell} px print no term`);
  });
});

test('entries a partition dropped that come back say why: Forward, named as beyond the paper', { timeout: 60000 }, async () => {
  await withPage('', async page => {
    await page.waitForFunction(() => window.raftplay.leader() !== null, null, { timeout: 30000 });
    await page.keyboard.press(' ');
    const text = await page.evaluate(() => {
      const pg = window.raftplay.playground();
      const leader = window.raftplay.leader();
      const other = (leader + 1) % 5;
      pg.partition([[leader, other]]);
      pg.put('x', 'min1', leader);
      pg.put('x', 'min2', leader);
      pg.advance(2000);
      const majority = [0, 1, 2, 3, 4].find(i => i !== leader && i !== other);
      pg.put('x', 'maj', majority);
      pg.advance(500);
      pg.heal();
      pg.advance(1500);
      return pg.recentEvents().map(e => e.text).join('\n');
    });
    assert.match(text, /drops entries? .* conflicts? with/);
    assert.match(text, /hands \d commands? of its dropped entries over to S\d, the leader, so that their clients are answered \(Forward, beyond the paper; off in the paper preset\)/);
    assert.match(text, /appends \d commands? that S\d handed over/);
    assert.match(await page.textContent('#hint'), /each beyond the paper/);
  });
});

test('figure-8-unsafe says that the planted bug commits x=1, and the commit says which rule it breaks', { timeout: 60000 }, async () => {
  await withPage('#scenario=figure-8-unsafe', async page => {
    await page.evaluate(() => window.raftplay.runScenario(4));
    const card = await page.textContent('#card-text');
    assert.match(card, /switched off/);
    assert.doesNotMatch(card, /says why it does not commit it/);
    const text = (await page.evaluate(() => window.raftplay.playground().recentEvents().map(e => e.text))).join('\n');
    assert.match(text, /commits up to \d+ by counting alone: .* but it is from term 1, not the current term \d+, which the rule forbids/);
  });
});

test('the hint follows the cluster, and the inspector marks what is persistent', { timeout: 60000 }, async () => {
  await withPage('', async page => {
    await page.waitForFunction(() => window.raftplay.leader() !== null, null, { timeout: 30000 });
    await page.evaluate(() => window.raftplay.redraw());
    const l = await page.evaluate(() => window.raftplay.leader());
    assert.match(await page.textContent('#hint'), new RegExp(`is led by S${l + 1} in term \\d+`));
    await page.keyboard.press(String(l + 1));
    const body = await page.textContent('#inspect-body');
    assert.match(body, /term +\d+ +\(persistent\)/);
    assert.match(body, /voted for +S\d +\(persistent\)/);
    assert.match(body, /commit +\d+ +\(volatile\)/);
  });
});

test('a scenario the student takes over says so at once, and next starts over', { timeout: 60000 }, async () => {
  await withPage('#scenario=first-election', async page => {
    const step = () => page.textContent('#card-step');
    // Paused in the middle of a step: the card says so, and play finishes it.
    await page.click('#card-next');
    await page.keyboard.press(' ');
    assert.match(await step(), /step 1 of \d+ \(paused\)/);
    assert.match(await page.textContent('#card-text'), /press play to let it finish/);
    await page.keyboard.press(' ');
    await page.waitForFunction(() => !/running|paused/.test(document.getElementById('card-step').textContent), null, { timeout: 20000 });
    assert.match(await step(), /^step 1 of \d+$/);
    // Acting on the cluster is a take-over: the card says so, next is off.
    await page.keyboard.press('1');
    await page.keyboard.press('c');
    assert.match(await step(), /you took over after step 1 of \d+/);
    const text = await page.textContent('#card-text');
    assert.match(text, /You took over at \d+\.\d{3} s: you acted on the cluster\. What step 1 said: /);
    assert.match(text, /next steps were written for its own cluster/);
    assert.equal(await page.textContent('#card-next'), 'start over');
    await page.click('#card-next');
    assert.match(await step(), /^\d+ steps$/);
    assert.equal(await page.textContent('#card-next'), 'next');
    // Letting time run on before the story begins is one too.
    await page.keyboard.press(' ');
    assert.match(await step(), /you took over after step 0/);
    assert.match(await page.textContent('#card-text'), /you let time run on beyond the story\. The story had not begun\./);
  });
});

test('a long card, the alarm and a reveal leave the ring whole and the page within 1280x720', { timeout: 90000 }, async () => {
  await withPage('#scenario=figure-8-unsafe', async page => {
    await page.evaluate(() => window.raftplay.runScenario());
    await page.waitForSelector('#alarm:not([hidden])');
    await page.waitForTimeout(300);
    const height = await page.evaluate(() => document.documentElement.scrollHeight);
    assert.ok(height <= 720, `the page is ${height} px tall`);
    await assertRingWhole(page);
    // The card tells the planted bug: no second copy in a banner or note.
    assert.equal(await page.isVisible('#hunt-note'), false);
    assert.equal(await page.isVisible('#banner'), false);
    // The hint names the rules this cluster runs, not the course defaults.
    assert.match(await page.textContent('#hint'), /It runs the paper's rules alone/);
    // After the last step, acting is no take-over: the story is over.
    await page.keyboard.press('2');
    await page.keyboard.press('c');
    assert.match(await page.textContent('#card-step'), /the end/);
  });
  await withPage('#scenario=figure-8-unsafe', async page => {
    await page.evaluate(() => window.raftplay.runScenario(3));
    await assertRingWhole(page);
    const card = await page.locator('#card').boundingBox();
    const list = await page.locator('#card-list').boundingBox();
    assert.ok(list.x + list.width <= card.x + card.width + 1, `"other scenarios" ends at ${list.x + list.width}, the card at ${card.x + card.width}`);
  }, { viewport: { width: 390, height: 844 } });
});

test('a first visit opens paused before the first election, says what is coming; a later visit runs', { timeout: 60000 }, async () => {
  const server = await serve();
  const b = await browser({ firstVisit: true });
  try {
    const context = await b.newContext({ viewport: { width: 1280, height: 720 } });
    const page = await context.newPage();
    await page.goto(server.url);
    await page.waitForFunction(() => window.raftplay && window.raftplay.playground());
    await page.waitForTimeout(1500);
    assert.equal(await page.evaluate(() => window.raftplay.playground().nowMs()), 0, 'time stands at 0');
    assert.equal(await page.evaluate(() => window.raftplay.leader()), null);
    assert.match(await page.textContent('#banner'), /Press space or ▶ play to watch which one times out first/);
    assert.match(await page.textContent('#play'), /play/);
    await page.keyboard.press(' ');
    await page.waitForFunction(() => window.raftplay.leader() !== null, null, { timeout: 30000 });
    // The same student coming back: the page runs at once.
    const again = await context.newPage();
    await again.goto(server.url);
    await again.waitForFunction(() => window.raftplay && window.raftplay.playground() && window.raftplay.playground().nowMs() > 500, null, { timeout: 10000 });
    assert.match(await again.textContent('#play'), /pause/);
  } finally {
    await b.close();
    server.close();
  }
});
