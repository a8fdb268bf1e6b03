// The course grader in the browser (issue "The page checks", part 4): a
// project config run in the page ends with the line `gradesim sim` prints
// for the same config and seed; a malformed config names the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { withPage as open, root } from './serve.mjs';


for (const name of ['simple', 'crash']) {
  test(`#grader=${name} ends with the line gradesim sim prints for seed 1`, { timeout: 180000 }, async () => {
    const out = spawnSync(join(root, 'target', 'release', 'gradesim'), ['sim', join(root, 'configs', `${name}.json`), '--seed', '1'], { encoding: 'utf8' });
    const expected = out.stdout.split('\n')[0];
    assert.match(expected, new RegExp(`^${name} +seed 1 `));
    await open(`#grader=${name}`, async page => {
      assert.equal(await page.isVisible('#grader'), true);
      await page.waitForFunction(() => /seed 1 +(PASS|FAIL)/.test(document.getElementById('grader-out').textContent), null, { timeout: 150000 });
      const line = (await page.textContent('#grader-out')).split('\n')[0];
      assert.equal(line, expected);
      const rows = await page.evaluate(() => [...document.querySelectorAll('#grader-table tbody tr')].map(tr => tr.textContent));
      assert.equal(rows.length, 4);
    });
  });
}

test('a malformed config file gives the field\'s error, as gradesim does', { timeout: 60000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'raftplay-'));
  const bad = join(dir, 'bad.json');
  const config = JSON.parse(readFileSync(join(root, 'configs', 'simple.json'), 'utf8'));
  writeFileSync(bad, JSON.stringify({ ...config, mix: 2.0 }));
  const cli = spawnSync(join(root, 'target', 'release', 'gradesim'), ['sim', bad], { encoding: 'utf8' });
  // gradesim: bad: <the error naming the field> (path)
  const said = cli.stderr.split('\n')[0].replace(/^gradesim: bad: /, '').replace(/ \(.*\)$/, '');
  assert.match(said, /mix/);
  await open('', async page => {
    await page.click('#grader-btn');
    await page.setInputFiles('#grader-file', bad);
    await page.click('#grader-run');
    await page.waitForFunction(() => /cannot run it/.test(document.getElementById('grader-out').textContent));
    const text = await page.textContent('#grader-out');
    assert.ok(text.includes(said), `${text} does not say ${said}`);
  });
});

test('a grader run draws its own replicas on the ring, and its metrics have units and tier bounds', { timeout: 120000 }, async () => {
  await open('', async page => {
    await page.click('#grader-btn');
    await page.selectOption('#grader-config', 'three-replicas');
    await page.selectOption('#grader-speed', '100');
    await page.click('#grader-run');
    await page.waitForFunction(() => /^running three-replicas: [1-9]/.test(document.getElementById('grader-out').textContent), null, { timeout: 30000 });
    await page.evaluate(() => window.raftplay.redraw());
    // The playground's cluster has five nodes; the grader's run three.
    assert.equal(await page.evaluate(() => window.raftplay.ring().centres.length), 3);
    assert.match(await page.textContent('#grader-out'), /the ring shows its replicas/);
    const rows = await page.evaluate(() => [...document.querySelectorAll('#grader-table tbody tr')].map(tr => [...tr.cells].map(c => c.textContent)));
    assert.equal(rows.length, 4);
    assert.match(rows[0][1], /^\d+ datagrams$/);
    assert.match(rows[3][1], /^\d+\.\d{6} s$/);
    assert.ok(rows.every(r => /^bonus below \S+, full below \S+, partial below \S+/.test(r[3])), JSON.stringify(rows));
    assert.match(rows[3][3], / s$/);
    // Closed or over, the ring is the playground's again.
    await page.click('#grader-close');
    await page.click('#grader-btn');
    await page.selectOption('#grader-speed', '0');
    await page.click('#grader-run');
    await page.waitForFunction(() => /seed \d+ +(PASS|FAIL)/.test(document.getElementById('grader-out').textContent), null, { timeout: 60000 });
    await page.evaluate(() => window.raftplay.redraw());
    assert.equal(await page.evaluate(() => window.raftplay.ring().centres.length), 5);
  });
});
