// Serves www/ on a free localhost port with python3's http.server and
// launches Debian's Chromium through playwright-core.
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
export async function browser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-quic',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
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
