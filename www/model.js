// Reading the model: what the page draws, kept in step with the wasm
// Playground. No drawing and no DOM here; the benchmark uses it too.

// Each node's log as the page mirrors it: terms and keys per entry, patched
// with the model's log changes (entries from `from` on replace the rest).
export class Logs {
  constructor() { this.byNode = []; }
  clear() { this.byNode = []; }
  apply(changes) {
    for (const c of changes) {
      const log = this.byNode[c.node] || (this.byNode[c.node] = { terms: [], keys: [] });
      log.terms.length = c.from - 1;
      log.keys.length = c.from - 1;
      log.terms.push(...c.terms);
      log.keys.push(...c.keys);
    }
  }
}

export function leaderOf(nodes) {
  const l = nodes.find(n => n.alive && n.role === 'leader');
  return l ? l.id : null;
}

// One frame's views. `all`: resend whole logs (after a seek or a new run).
export function readFrame(pg, logs, all) {
  if (all) pg.resendLogs();
  logs.apply(pg.logChanges());
  return {
    nodes: pg.nodes(),
    messages: pg.messages(),
    cuts: new Set(pg.cuts().map(([a, b]) => `${a}-${b}`)),
    events: pg.events(),
  };
}

// Whether any node committed a put of `key` (for tests).
export function committed(nodes, logs, key) {
  return nodes.some(n => (logs.byNode[n.id]?.keys || []).slice(0, n.commit).some(k => k.startsWith(`${key}=`)));
}
