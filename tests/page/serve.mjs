// Serves www/ on a free localhost port with python3's http.server and
// launches Debian's Chromium through playwright-core.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

async function freePort() {
  return new Promise(resolve => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

export async function serve() {
  const port = await freePort();
  const server = spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', join(root, 'www')], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}/`;
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(url)).ok) break; } catch { /* not yet */ }
    await new Promise(r => setTimeout(r, 100));
  }
  return { url, close: () => server.kill() };
}

// Playwright gives every launch a fresh, empty profile (user data dir).
// Its pages are those of a returning visitor (the page opens running),
// unless `firstVisit`: a newcomer's first visit opens paused.
export async function browser({ firstVisit = false } = {}) {
  const b = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-quic',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  if (!firstVisit) {
    const newPage = b.newPage.bind(b);
    b.newPage = async options => {
      const page = await newPage(options);
      await page.addInitScript(() => localStorage.setItem('raftplay.visited', '1'));
      return page;
    };
  }
  return b;
}

// Serves the page, opens `path` (relative to the server's URL) in a fresh
// browser, waits until `ready` holds in the page (by default: the
// playground is up), and runs `body(page, { server, browser })`; fails on
// any page error, and closes everything whatever happens.
const playgroundUp = () => window.raftplay && window.raftplay.playground();
export async function withPage(path, body, { viewport = { width: 1280, height: 720 }, ready = playgroundUp } = {}) {
  const server = await serve();
  const b = await browser();
  try {
    const page = await b.newPage({ viewport });
    const errors = [];
    page.on('pageerror', e => errors.push(e.message));
    await page.goto(`${server.url}${path}`);
    await page.waitForFunction(ready, null, { timeout: 30000 });
    await body(page, { server, browser: b });
    if (errors.length) throw new Error(`page errors:\n${errors.join('\n')}`);
  } finally {
    await b.close();
    server.close();
  }
}

// Every node drawn whole on the canvas, none over another.
export async function assertRingWhole(page) {
  await page.evaluate(() => window.raftplay.redraw());
  const r = await page.evaluate(() => window.raftplay.ring());
  for (const c of r.centres) {
    assert.ok(c.y - r.radius - 20 >= 0 && c.y + r.radius + 30 <= r.height, `a node at y=${c.y} (radius ${r.radius}) is clipped by a ${r.height} px canvas`);
  }
  for (let i = 0; i < r.centres.length; i++) {
    for (let j = i + 1; j < r.centres.length; j++) {
      const d = Math.hypot(r.centres[i].x - r.centres[j].x, r.centres[i].y - r.centres[j].y);
      assert.ok(d >= 2 * r.radius + 8, `S${i + 1} and S${j + 1} overlap (${d.toFixed(0)} px apart, radius ${r.radius})`);
    }
  }
}
