// Guided scenarios: short stories on the live model, each opened by a link
// `#scenario=NAME`. A scenario is data: the options of its cluster, steps
// (what to watch, the user actions the step performs, and how long it then
// runs), and the end state it reaches. Node references in actions are
// resolved when the step runs: "leader" (the current leader), "follower"
// and "follower2" (the first live followers), or a name a step remembered
// (`remember` on an action, or `{do: 'name', node, as}`). Besides the
// user's actions a step may `{do: 'await', leader: ref}` or `{do: 'await',
// log_len: [ref, n]}`: the model runs on, a millisecond at a time, until
// that node leads or holds n entries (at most `max_ms`), so that the next
// action happens at that very moment.
// A step may also name the event it ends on, `until: [expectations]` (as
// in `end`): it runs until they hold, `run` ms at most. Its card shows
// once it has run, so that what the card says is on screen: every step
// states what its card claims as data, `claims` (or its `until`), and the
// page tests check each claim when the card shows.
// The student can take over at any step: play, act, scrub, copy the link.

// Figure 8's first panels, shared by its three scenarios: five nodes, the
// paper's rules, one entry per AppendEntries (so that a new leader's no-op
// travels apart from older entries); `extra` options (the unsafe one plants
// the bug that turns §5.4.2 off), then the scenario's own last steps. With
// `e`, panel (c) lets A's no-op reach C too.
// Figure 8 (d): A crashes, E restarts and times out twice (its term is two
// behind the others' votes), and leads.
const PANEL_D = [{ do: 'crash', node: 'A' }, { do: 'heal' }, { do: 'restart', node: 'E' }, { do: 'timeout', node: 'E' }, { do: 'timeout', node: 'E' }, { do: 'await', leader: 'E', max_ms: 3000 }];

function figure8(name, title, extra, last, end, e = false) {
  const paper = { nodes: 5, seed: 1, pre_vote: false, check_quorum: false, vote_guard: false, forward: false, probe: false, read_mode: 'log', batch: 1 };
  const name5 = [['leader', 'A'], ['follower1', 'B'], ['follower2', 'C'], ['follower3', 'D'], ['follower4', 'E']]
    .map(([node, as]) => ({ do: 'name', node, as }));
  // With the planted bug (`hunt`), A commits x=1 by counting, and says so.
  const broken = extra.hunt !== undefined;
  const c = e
    ? 'Its no-op of the new term follows on B and C as well: A, B and C hold it, a majority.'
    : broken
      ? 'The moment C holds x=1, A\'s link to C is cut, so A\'s no-op of the new term is on A and B only. With §5.4.2 switched off, A counts A, B and C holding x=1 and commits it anyway: the events say "by counting alone ... which the rule forbids".'
      : 'The moment C holds x=1, A\'s link to C is cut, so A\'s no-op of the new term is on A and B only. A counts A, B and C holding x=1 and says why it does not commit it.';
  const rule = broken
    ? 'yet it is of an older term, which §5.4.2 forbids committing by counting; this core has that rule switched off (a planted bug).'
    : 'yet it is of an older term, so A may not commit it by counting (§5.4.2).';
  return [{
    name,
    title,
    options: { ...paper, ...extra },
    steps: [
      { say: 'Five nodes under the paper\'s rules alone. A leader is elected; call the nodes A (the leader) to E.', do: [{ do: 'await', any_leader: true, max_ms: 5000 }, ...name5], run: 1000, claims: [{ leader_is: 'A' }] },
      { say: '(a) A\'s links to C, D and E are cut: x=1 reaches only B. It is on two of five logs, in A\'s term.', do: [{ do: 'cut', from: 'A', to: 'C' }, { do: 'cut', from: 'A', to: 'D' }, { do: 'cut', from: 'A', to: 'E' }, { do: 'put', key: 'x', value: '1', node: 'A' }], run: 300, claims: [{ in_logs: ['x', 2] }] },
      { say: '(b) A crashes. E, which never got x=1, times out and wins with the votes of C and D, whose logs are no longer than its own. Its links out are cut the moment it leads, so its entries (its no-op and y=2) stay on its log alone.', do: [{ do: 'crash', node: 'A' }, { do: 'heal' }, { do: 'timeout', node: 'E' }, { do: 'await', leader: 'E', max_ms: 3000 }, { do: 'cut', from: 'E', to: 'B' }, { do: 'cut', from: 'E', to: 'C' }, { do: 'cut', from: 'E', to: 'D' }, { do: 'put', key: 'y', value: '2', node: 'E' }], run: 300, claims: [{ leader_is: 'E' }, { crashed: 'A' }, { in_logs: ['y', 1] }] },
      { say: `(c) E crashes; A restarts and, timing out twice, asks in a term nobody has voted in yet: B, C and D elect it. D's link from A is cut. A sends x=1 on to C: now A, B and C hold it, a majority, ${rule} ${c}`, do: [{ do: 'crash', node: 'E' }, { do: 'heal' }, { do: 'restart', node: 'A' }, { do: 'timeout', node: 'A' }, { do: 'timeout', node: 'A' }, { do: 'await', leader: 'A', max_ms: 3000 }, { do: 'cut', from: 'A', to: 'D' }, ...(e ? [] : [{ do: 'await', log_len: ['C', 2], max_ms: 3000 }, { do: 'cut', from: 'A', to: 'C' }])], run: 300, claims: [{ leader_is: 'A' }, { crashed: 'E' }, { in_logs: ['x', 3] }, broken ? { committed_on: ['A', 'x'] } : e ? { in_logs_at_least: ['x', 3] } : { not_committed_on: ['A', 'x'] }] },
      // The last step ends the story: its card claims the end state.
      ...last.map(step => ({ claims: end.expect, ...step })),
    ],
    end,
  }];
}

export const SCENARIOS = [
  {
    name: 'first-election',
    title: 'A first election (§5.2)',
    options: { nodes: 5, seed: 1 },
    intro: 'Five followers, no leader. Each waits a random election timeout (the arc around it). Press next and watch the first arc run out.',
    steps: [
      { say: 'The first arc ran out: that node is a (pre-)candidate and asks the others for their votes. Each grants at most one vote per term (§5.2).', until: [{ candidates_at_least: 1 }], run: 3000 },
      { say: 'A majority voted for it: it is the leader of term 1 (crown). Its heartbeats (small squares) reset the others\' timers.', until: [{ leader: true }], run: 2000 },
    ],
    end: { says: 'a leader is elected', expect: [{ leader: true }] },
  },
  {
    name: 'split-vote',
    title: 'A split vote (§5.2)',
    // The paper's rules: no PreVote, and no vote guard to hold the forced
    // timeouts back at the start.
    options: { nodes: 4, seed: 3, pre_vote: false, vote_guard: false },
    intro: 'Four followers under the paper\'s rules (no PreVote). Press next: two of them time out at the same moment.',
    steps: [
      { say: 'Two timed out at the same moment: both stand in term 1 and ask for votes.', do: [{ do: 'timeout', node: 0 }, { do: 'timeout', node: 2 }], until: [{ candidates_at_least: 2 }], run: 60 },
      { say: 'Each voter granted the first request it saw; with two candidates neither can reach three of four votes. Nobody wins term 1: both wait for their election timeouts.', run: 300, claims: [{ no_leader: true }, { term_at_most: 1 }, { candidates_at_least: 2 }] },
      { say: 'Election timeouts are random, so one candidate timed out first, stood in the next term, and won.', until: [{ leader: true }, { term_at_least: 2 }], run: 3000 },
    ],
    end: { says: 'a leader of term 2 or later', expect: [{ leader: true }, { term_at_least: 2 }] },
  },
  {
    name: 'replication',
    title: 'Log replication and commit (§5.3)',
    options: { nodes: 5, seed: 1 },
    steps: [
      { say: 'A leader is elected first.', run: 1500, claims: [{ leader: true }] },
      { say: 'A client puts x=1 at the leader: it appends the entry and sends AppendEntries (a square with its entry count) to the followers a majority needs.', do: [{ do: 'put', key: 'x', value: '1', node: null }], run: 40, claims: [{ in_leader_log: 'x' }] },
      { say: 'Followers whose log matches at the previous index append it and reply. Once a majority holds it, the leader commits (solid cell) and answers the client.', run: 400, claims: [{ in_logs_at_least: ['x', 3] }, { committed: 'x' }] },
    ],
    end: { says: 'x=1 is committed', expect: [{ committed: 'x' }] },
  },
  {
    name: 'leader-crash',
    title: 'The leader crashes',
    options: { nodes: 5, seed: 1 },
    steps: [
      { say: 'A leader is elected.', run: 1500, claims: [{ leader: true }] },
      { say: 'A client put x=1 at the leader, and it committed on a majority.', do: [{ do: 'put', key: 'x', value: '1', node: null }], run: 400, claims: [{ committed: 'x' }] },
      { say: 'The leader crashes. Its followers stop hearing heartbeats; the first whose timer runs out stands.', do: [{ do: 'crash', node: 'leader', remember: 'old' }], run: 2500, claims: [{ crashed: 'old' }] },
      { say: 'A new leader, elected only with the votes of nodes whose logs are not ahead of its own (§5.4.1), so it holds x=1.', run: 500, claims: [{ leader_is_not: 'old' }, { committed: 'x' }] },
    ],
    end: { says: 'a new leader that holds x=1', expect: [{ leader_is_not: 'old' }, { committed: 'x' }] },
  },
  {
    name: 'minority-leader',
    title: 'A leader in a minority partition',
    options: { nodes: 5, seed: 1, check_quorum: false, forward: false },
    steps: [
      { say: 'A leader is elected. (CheckQuorum is off here, so the cut-off leader keeps believing it leads; forwarding is off, as in the paper, so its lost entries stay lost.)', run: 1500, claims: [{ leader: true }] },
      { say: 'The leader is cut off with one follower: two of five, a minority. A put sent to it is appended but can never commit.', do: [{ do: 'partition', groups: [['leader', 'follower']], remember: 'old' }, { do: 'put', key: 'm', value: '1', node: 'old' }], run: 2500, claims: [{ partitioned: true }, { in_log_of: ['old', 'm'] }, { not_committed_on: ['old', 'm'] }] },
      { say: 'The majority side elects a new leader in a newer term and goes on.', run: 1000, claims: [{ partitioned: true }, { leaders: 2 }, { term_at_least: 2 }] },
      { say: 'Healed: the old leader hears the newer term, steps down, and its uncommitted entry is replaced by the new leader\'s log.', do: [{ do: 'heal' }], run: 1500, claims: [{ partitioned: false }, { leaders: 1 }, { follower: 'old' }, { in_no_log: 'm' }] },
    ],
    end: { says: 'the old leader follows the new one', expect: [{ leader_is_not: 'old' }, { follower: 'old' }] },
  },
  {
    name: 'rejoin-disrupts',
    title: 'A partitioned node rejoins and disrupts the leader (no PreVote)',
    options: { nodes: 5, seed: 1, pre_vote: false, check_quorum: false },
    steps: [
      { say: 'A leader is elected. PreVote is off.', run: 1500, claims: [{ leader: true }] },
      { say: 'One follower is cut off. It hears no leader, times out again and again, and each time raises its term.', do: [{ do: 'partition', groups: [['follower']], remember: 'lonely' }], run: 4000, claims: [{ partitioned: true }, { term_of_at_least: ['lonely', 3] }] },
      { say: 'Healed: its higher term reaches the leader, which steps down. An election follows for nothing.', do: [{ do: 'heal' }], run: 2000, claims: [{ partitioned: false }, { leader: true }, { term_at_least: 4 }] },
    ],
    end: { says: 'the term jumped past the partitioned node\'s', expect: [{ leader: true }, { term_at_least: 4 }] },
  },
  {
    name: 'rejoin-prevote',
    title: 'The same with PreVote',
    options: { nodes: 5, seed: 1, pre_vote: true, check_quorum: true },
    steps: [
      { say: 'A leader is elected. PreVote is on.', run: 1500, claims: [{ leader: true }] },
      { say: 'One follower is cut off. It asks for pre-votes, gets none, and so never raises its term.', do: [{ do: 'partition', groups: [['follower']], remember: 'lonely' }], run: 4000, claims: [{ partitioned: true }, { term_at_most: 1 }] },
      { say: 'Healed: nothing happens. The leader stays leader of term 1.', do: [{ do: 'heal' }], run: 2000, claims: [{ partitioned: false }, { leader: true }, { term_at_most: 1 }] },
    ],
    end: { says: 'the leader and its term are unchanged', expect: [{ leader: true }, { term_at_most: 1 }] },
  },
  {
    name: 'check-quorum',
    title: 'CheckQuorum: an isolated leader steps down',
    options: { nodes: 5, seed: 1, check_quorum: true },
    steps: [
      { say: 'A leader is elected.', run: 1500, claims: [{ leader: true }] },
      { say: 'The leader is cut off alone. For an election timeout no majority answers it: it steps down, so clients stop waiting on it.', do: [{ do: 'partition', groups: [['leader']], remember: 'old' }], run: 2500, claims: [{ partitioned: true }, { not_leader: 'old' }] },
    ],
    end: { says: 'the isolated node is no longer leader', expect: [{ not_leader: 'old' }] },
  },
  {
    name: 'lossy-network',
    title: 'A lossy network: 30% of messages dropped',
    options: { nodes: 5, seed: 1 },
    steps: [
      { say: 'A leader is elected.', run: 1500, claims: [{ leader: true }] },
      { say: 'Three messages in ten are now lost (they fade with an x) while a client writes. Lost AppendEntries are sent again after a retry timeout; the log still commits.', do: [{ do: 'drop_rate', rate: 0.3 }, { do: 'auto', on: true }], run: 6000, claims: [{ leader: true }, { commit_at_least: 5 }] },
    ],
    end: { says: 'the log commits despite the losses', expect: [{ leader: true }, { commit_at_least: 5 }] },
  },
  {
    name: 'crash-restart',
    title: 'Crash and restart: persistent and volatile state',
    options: { nodes: 5, seed: 1 },
    steps: [
      { say: 'A leader is elected.', do: [], run: 1500, claims: [{ leader: true }] },
      { say: 'A client put x=1, and it committed.', do: [{ do: 'put', key: 'x', value: '1', node: null }], run: 500, claims: [{ committed: 'x' }] },
      { say: 'A follower crashes and restarts. Its term, vote and log were on stable storage and survive; its commit index was volatile and is lost (dashed cells: commit index unknown).', do: [{ do: 'crash', node: 'follower', remember: 'f' }, { do: 'restart', node: 'f' }], run: 5, claims: [{ in_log_of: ['f', 'x'] }, { commit_of_at_most: ['f', 0] }] },
      { say: 'The leader\'s next AppendEntries tells it the commit index again.', run: 800, claims: [{ committed_on: ['f', 'x'] }] },
    ],
    end: { says: 'the restarted node knows x=1 is committed', expect: [{ committed_on: ['f', 'x'] }] },
  },
  {
    name: 'figure-7',
    title: 'Figure 7: a new leader repairs the followers\' logs',
    options: { nodes: 5, seed: 1, check_quorum: false, forward: false },
    steps: [
      { say: 'A leader is elected.', do: [], run: 1500, claims: [{ leader: true }] },
      { say: 'A client put a=1, and it committed on every node.', do: [{ do: 'put', key: 'a', value: '1', node: null }], run: 500, claims: [{ committed: 'a' }, { in_logs_at_least: ['a', 5] }] },
      { say: 'The leader is cut off alone and takes two puts that only it will ever hold: extra, uncommitted entries of its term. The majority elects a new leader.', do: [{ do: 'partition', groups: [['leader']], remember: 'old' }, { do: 'put', key: 'b', value: '2', node: 'old' }, { do: 'put', key: 'c', value: '3', node: 'old' }], run: 2500, claims: [{ partitioned: true }, { in_log_of: ['old', 'c'] }, { in_logs_at_least: ['c', 1] }, { leaders: 2 }] },
      { say: 'One of the new leader\'s followers crashes, so it will miss what comes next.', do: [{ do: 'crash', node: 'follower', remember: 'behind' }], run: 200, claims: [{ crashed: 'behind' }] },
      { say: 'The new leader writes d=4.', do: [{ do: 'put', key: 'd', value: '4', node: null }], run: 500, claims: [{ in_logs_at_least: ['d', 3] }] },
      { say: 'Healed and restarted: one follower has extra entries of an old term, one lacks entries. Each AppendEntries rejection backs the leader up (§5.3) until the logs match; the extra entries are dropped.', do: [{ do: 'heal' }, { do: 'restart', node: 'behind' }], run: 2500, claims: [{ partitioned: false }, { logs_equal: true }, { in_no_log: 'c' }] },
    ],
    end: { says: 'every live log equals the leader\'s', expect: [{ logs_equal: true }] },
  },
  ...figure8('figure-8', 'Figure 8 (a)-(d): x=1 sits on a majority, is not committed, and is overwritten (§5.4.2)', {}, [
    { say: '(d) A crashes. E restarts and times out twice: its last entry (of the term it won in b) is newer than C\'s and D\'s (x=1, of A\'s first term), so they elect it (§5.4.1). It replaces x=1 with its own entries everywhere, B\'s and C\'s copies too. Allowed: x=1 was on three of five logs, but never committed, and no client was told it was.', do: PANEL_D, run: 2500 },
  ], { says: 'E leads, x=1 is in no log, and y=2 is committed', expect: [{ leader_is: 'E' }, { in_no_log: 'x' }, { committed: 'y' }] }),
  ...figure8('figure-8-e', 'Figure 8 (e): an entry of the leader\'s own term commits x=1 with it', {}, [
    { say: '(e) A\'s no-op is on a majority, so it commits, and x=1 before it commits with it (§5.4.2). A crashes; E restarts and times out, but B and C hold entries of a newer term than its last, and refuse it: x=1 stays.', do: [{ do: 'crash', node: 'A' }, { do: 'heal' }, { do: 'restart', node: 'E' }, { do: 'timeout', node: 'E' }, { do: 'timeout', node: 'E' }], run: 2500 },
  ], { says: 'x=1 is committed, and E, whose log lacks it, does not lead', expect: [{ committed: 'x' }, { leader_is_not: 'E' }] }, true),
  ...figure8('figure-8-unsafe', 'Figure 8 without §5.4.2: a committed entry is overwritten', { hunt: 0 }, [
    { say: '(d) With the rule off (a planted bug), A committed x=1 in (c) by counting its three copies, and applied it. A crashes; E restarts and wins with C and D, whose last entries are older than its own: it leads without a committed entry, and overwrites it. Leader Completeness turns red.', do: PANEL_D, run: 1500 },
  ], { says: 'Leader Completeness is broken: E leads without the committed x=1', expect: [{ leader_is: 'E' }, { light_red: 'Leader Completeness' }] }),
];

export function findScenario(name) {
  return SCENARIOS.find(s => s.name === name) || null;
}

// The node a reference names now: a number, "leader", "follower",
// "followerN" (the N-th live follower, by ID), or a remembered name.
export function resolve(ref, nodes, memory) {
  if (typeof ref === 'number' || ref === null || ref === undefined) return ref ?? null;
  if (ref in memory) return memory[ref];
  const leader = nodes.find(n => n.alive && n.role === 'leader');
  if (ref === 'leader') return leader ? leader.id : null;
  const m = ref.match(/^follower(\d*)$/);
  if (m) {
    const followers = nodes.filter(n => n.alive && n.role !== 'leader');
    const n = followers[(Number(m[1]) || 1) - 1];
    return n ? n.id : null;
  }
  throw new Error(`unknown node reference ${ref}`);
}

// What an `await` waits for, as a test of the nodes: `any_leader: true`
// (some node leads), `leader: ref` (that node leads) or `log_len: [ref, n]`
// (its log holds at least n entries).
function awaited(action, nodes, memory) {
  if (action.any_leader) return now => now.some(n => n.alive && n.role === 'leader');
  if (action.leader !== undefined) {
    const who = resolve(action.leader, nodes, memory);
    return now => now[who].alive && now[who].role === 'leader';
  }
  if (action.log_len) {
    const who = resolve(action.log_len[0], nodes, memory);
    return now => now[who].log_len >= action.log_len[1];
  }
  throw new Error(`await what? ${JSON.stringify(action)}`);
}

// Performs a step's actions on `pg` (a Playground), resolving references.
export function perform(pg, step, memory) {
  for (const action of step.do || []) {
    const nodes = pg.nodes();
    if (action.do === 'name') {
      memory[action.as] = resolve(action.node, nodes, memory);
      continue;
    }
    if (action.do === 'await') {
      const done = awaited(action, nodes, memory);
      const max = action.max_ms ?? 3000;
      for (let waited = 0; !done(pg.nodes()); waited += 1) {
        if (waited >= max) throw new Error(`${JSON.stringify(action)} did not happen within ${max} ms`);
        pg.advance(1);
      }
      continue;
    }
    const a = { ...action };
    const name = a.remember;
    delete a.remember;
    for (const field of ['node', 'from', 'to']) {
      if (field in a) a[field] = resolve(a[field], nodes, memory);
    }
    if (a.groups) a.groups = a.groups.map(g => g.map(r => resolve(r, nodes, memory)));
    if (name) memory[name] = a.node ?? a.from ?? a.groups?.[0]?.[0];
    pg.act(a);
  }
}

// Whether the cluster reached the scenario's end state; `logs` are the
// mirrored logs (model.js).
export function reached(s, pg, logs, memory) {
  return holds(s.end.expect, pg, logs, memory);
}

// Whether every expectation holds now (a scenario's end, a step's `until`:
// the event the step waits for, or a step's `claims`: what its card says).
export function holds(expect, pg, logs, memory) {
  const nodes = pg.nodes();
  const leader = nodes.find(n => n.alive && n.role === 'leader');
  const has = (n, key) => (logs.byNode[n.id]?.keys || []).slice(0, n.commit).some(k => k.startsWith(`${key}=`));
  const inLog = (n, key) => (logs.byNode[n.id]?.keys || []).some(k => k.startsWith(`${key}=`));
  return expect.every(e => {
    if (e.leader) return !!leader;
    if (e.candidates_at_least !== undefined) return nodes.filter(n => n.alive && (n.role === 'candidate' || n.role === 'precandidate')).length >= e.candidates_at_least;
    if (e.term_at_least !== undefined) return Math.max(...nodes.map(n => n.term)) >= e.term_at_least;
    if (e.term_at_most !== undefined) return Math.max(...nodes.map(n => n.term)) <= e.term_at_most;
    if (e.committed) return !!leader && has(leader, e.committed);
    if (e.committed_on) return has(nodes[memory[e.committed_on[0]]], e.committed_on[1]);
    if (e.leader_is_not) return !!leader && leader.id !== memory[e.leader_is_not];
    if (e.leader_is) return !!leader && leader.id === memory[e.leader_is];
    if (e.in_no_log) return nodes.filter(n => n.alive).every(n => !(logs.byNode[n.id]?.keys || []).some(k => k.startsWith(`${e.in_no_log}=`)));
    if (e.light_red) return pg.lights().some(l => l.name === e.light_red && !l.ok);
    if (e.follower) return nodes[memory[e.follower]].role === 'follower';
    if (e.not_leader) return nodes[memory[e.not_leader]].role !== 'leader';
    if (e.commit_at_least !== undefined) return !!leader && leader.commit >= e.commit_at_least;
    if (e.no_leader) return !leader;
    if (e.leaders !== undefined) return nodes.filter(n => n.alive && n.role === 'leader').length === e.leaders;
    if (e.in_leader_log) return !!leader && inLog(leader, e.in_leader_log);
    if (e.in_log_of) return inLog(nodes[memory[e.in_log_of[0]]], e.in_log_of[1]);
    if (e.in_logs !== undefined) return nodes.filter(n => inLog(n, e.in_logs[0])).length === e.in_logs[1];
    if (e.in_logs_at_least !== undefined) return nodes.filter(n => inLog(n, e.in_logs_at_least[0])).length >= e.in_logs_at_least[1];
    if (e.not_committed_on) return !has(nodes[memory[e.not_committed_on[0]]], e.not_committed_on[1]);
    if (e.partitioned !== undefined) return (pg.cuts().length > 0) === e.partitioned;
    if (e.crashed) return !nodes[memory[e.crashed]].alive;
    if (e.term_of_at_least) return nodes[memory[e.term_of_at_least[0]]].term >= e.term_of_at_least[1];
    if (e.commit_of_at_most) return nodes[memory[e.commit_of_at_most[0]]].commit <= e.commit_of_at_most[1];
    if (e.logs_equal) {
      const live = nodes.filter(n => n.alive);
      const text = n => JSON.stringify(logs.byNode[n.id]?.terms || []);
      return live.every(n => text(n) === text(live[0]));
    }
    throw new Error(`unknown expectation ${JSON.stringify(e)}`);
  });
}
