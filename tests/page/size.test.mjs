// The page's WebAssembly stays small: a guard against creep at today's
// size (the goal, 120 KB gzipped, is issue 23's; docs/measurements.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { root } from './serve.mjs';

const LIMIT = 250_000;

test(`the wasm package is under ${LIMIT} bytes gzipped`, () => {
  const wasm = readFileSync(join(root, 'www', 'pkg', 'raftplay_bg.wasm'));
  const gz = gzipSync(wasm, { level: 9 }).length;
  assert.ok(gz < LIMIT, `${wasm.length} bytes, ${gz} gzipped`);
});
