// The playground page: a requestAnimationFrame loop advances the simulated
// cluster (WebAssembly) by the frame's wall time times the speed, reads what
// changed (model.js), and draws it (draw.js). Input goes through act(),
// which reports refusals and forks. While a recording is open (player.js),
// the loop, the canvas, the timeline, the lane and the keys are its.
import init, { Playground, GraderRun, graderConfigs, graderConfigText, plantedBugs } from './pkg/raftplay.js';
import { drawCluster, drawLogs, drawHistory, layout, fillLegend, LOSSES } from './draw.js';
import { runHash, runInHash, decodeRecord } from './link.js';
import { Logs, leaderOf, readFrame, committed } from './model.js';
import { readOptions, showOptions, showSettings, showCluster, HelpDialog, choosePreset, showPreset, PRESETS } from './controls.js';
import { SCENARIOS, findScenario, perform, reached, holds } from './scenarios.js';
import { parseRecording, looksLikeRecording } from './recording.js';
import { Player } from './player.js';
import { Explorer } from './explore.js';

const $ = id => document.getElementById(id);
const EVENTS_SHOWN = 200;
// The history lane shows this much of the timeline, ms.
const LANE_MS = 5000;
// Wall-clock budget per frame for replaying a link or a seek, ms.
const REPLAY_BUDGET_MS = 25;

const state = {
  pg: null,
  options: null,
  playing: true,
  selected: null,
  group: new Set(),
  nodes: [],
  messages: [],
  cuts: new Set(),
  logs: new Logs(),
  centres: [],
  lastFrame: null,
  lastKv: 0,
  lastUrl: 0,
  seeking: false,
  // A replay in slices: { target (ms), done (callback), sliceMs }.
  replay: null,
  // The safety lights, and the checks already seen broken in this run.
  lights: [],
  redSeen: new Set(),
  alarm: new Set(),
  // A bug hunt: { bug: {name, rule}, revealed }.
  hunt: null,
  // A guided scenario: { s, step (next to run), memory, stopAt (ms) }.
  story: null,
  // A course grader run: { run (GraderRun), name }.
  grading: null,
  help: null,
  // The message the pointer last rested on, described until it moves.
  watched: null,
  // The events list: whether it follows the newest line, and how many
  // lines fell off its top.
  followEvents: true,
  eventsDropped: 0,
};

// A recorded run, when one is open.
const player = new Player();
// Explore mode and "show me how" (bound once the module is loaded).
let explorer = null;

function speed() {
  return Math.pow(10, (Number($('speed').value) - 100) / 50);
}

function showSpeed() {
  const s = speed();
  $('speed-out').textContent = s >= 1.005 ? `${s < 10 ? s.toFixed(1) : Math.round(s)}×` : s >= 0.995 ? '1×' : `1/${Math.round(1 / s)}×`;
}

function banner(text) {
  const b = $('banner');
  b.textContent = text;
  b.hidden = !text;
}

function setPlaying(on) {
  const st = state.story;
  if (on && st && st.stopAt === null && !state.scripting) takeOver('you let time run on beyond the story');
  state.playing = on;
  if (st && st.stopAt !== null) showCard();
  $('play').textContent = state.playing ? '❚❚ pause' : '▶ play';
}

// Replaces the cluster; every view is read afresh.
function adopt(pg) {
  if (state.pg) state.pg.free();
  state.pg = pg;
  state.options = pg.options();
  state.replay = null;
  state.selected = null;
  state.group.clear();
  renderCuts();
  state.lights = [];
  state.redSeen = new Set();
  state.story = null;
  showCard();
  const hunted = pg.huntedBug();
  state.hunt = hunted ? { bug: hunted, revealed: false, hints: 0 } : null;
  $('give-up').hidden = !hunted;
  $('hint-btn').hidden = !hunted;
  $('hint-btn').disabled = false;
  showHuntNote('');
  showOptions(state.options);
  showCluster(state.options);
  showPending();
  renderGroup();
  reread();
}

// Reads every view afresh (after a new run, a seek or a replay).
function reread() {
  state.logs.clear();
  $('events').replaceChildren();
  state.eventsDropped = 0;
  state.followEvents = true;
  // The latest events, read or not; the unread ones are among them.
  state.pg.events();
  appendEvents(state.pg.recentEvents());
  refresh(true);
  showSettings(state.pg.settings());
  if (explorer) explorer.render();
}

// The form's options that apply through "new cluster" (drops and latency
// apply at once): those that differ from the running cluster's are named
// beside the button, so the form never passes for what runs.
const LIVE_OPTIONS = new Set(['latency_min_ms', 'latency_max_ms', 'drop_rate']);
function showPending() {
  if (!state.options) return;
  const o = readOptions();
  const differs = k => !LIVE_OPTIONS.has(k) && JSON.stringify(o[k]) !== JSON.stringify(state.options[k]);
  const onOff = v => (v ? 'on' : 'off');
  const named = { nodes: v => `${v} nodes`, seed: v => `seed ${v}`, pre_vote: v => `PreVote ${onOff(v)}`, check_quorum: v => `CheckQuorum ${onOff(v)}` };
  const changed = Object.keys(o).filter(differs);
  const words = Object.keys(named).filter(k => changed.includes(k)).map(k => named[k](o[k]));
  if (changed.some(k => !named[k])) words.push(`the ${$('preset').selectedOptions[0].textContent} preset`);
  $('pending').hidden = words.length === 0;
  $('pending').textContent = `not applied yet: ${words.join(', ')}; press "new cluster" (this one runs ${state.options.nodes} nodes, PreVote ${onOff(state.options.pre_vote)}, CheckQuorum ${onOff(state.options.check_quorum)})`;
  $('new').classList.toggle('pending', words.length > 0);
}

function fresh(opts) {
  try {
    adopt(new Playground(opts));
    banner('');
    return true;
  } catch (e) {
    banner(`Cannot start a cluster with these options: ${e.message}`);
    return false;
  }
}

// ----- the URL holds the run -------------------------------------------------

function linkFor() {
  return `${location.origin}${location.pathname}${runHash(state.pg.record())}`;
}

function saveUrl(now) {
  if (state.replay || now - state.lastUrl < 1000) return;
  state.lastUrl = now;
  history.replaceState(null, '', runHash(state.pg.record()));
}

function openFromUrl() {
  const text = runInHash(location.hash);
  if (text === null) return false;
  try {
    const record = decodeRecord(text);
    adopt(Playground.restoreAtStart(record));
    setPlaying(false);
    replayTo(record.time / 1000, 'Reopening the run from the link', () => {
      banner('Reopened the run from the link, paused at the moment it was saved. Press space to play.');
    });
  } catch (e) {
    history.replaceState(null, '', location.pathname);
    fresh(readOptions());
    banner(`This link could not be opened (${e.message}); here is a fresh cluster instead.`);
  }
  return true;
}

// What the URL's hash names: a scenario, a grader config or a run; false
// if it names nothing (or a scenario that does not exist).
function openFromHash() {
  const scenario = location.hash.match(/^#scenario=(.+)$/);
  const grader = location.hash.match(/^#grader=(.+)$/);
  if (grader) {
    if (!state.pg) fresh(readOptions());
    openGrader(decodeURIComponent(grader[1]));
    return true;
  }
  if (scenario) return openScenario(decodeURIComponent(scenario[1]));
  return openFromUrl();
}

// ----- replaying in slices: a long run never freezes the tab -------------------

function replayTo(targetMs, label, done) {
  state.replay = { target: targetMs, label, done, sliceMs: 200 };
  stepReplay();
}

function stepReplay() {
  const r = state.replay;
  const pg = state.pg;
  const start = performance.now();
  try {
    while (pg.nowMs() < r.target && performance.now() - start < REPLAY_BUDGET_MS) {
      const t0 = performance.now();
      pg.seek(Math.min(r.target, pg.nowMs() + r.sliceMs));
      const took = performance.now() - t0;
      r.sliceMs = Math.max(1, Math.min(60000, r.sliceMs * (took < 5 ? 2 : took > 15 ? 0.5 : 1)));
    }
  } catch (e) {
    state.replay = null;
    banner(`The replay stopped: ${e.message}`);
    reread();
    return;
  }
  if (pg.nowMs() >= r.target) {
    state.replay = null;
    reread();
    if (r.done) r.done();
  } else {
    const pct = Math.floor((100 * pg.nowMs()) / Math.max(1, r.target));
    banner(`${r.label}: ${pct}% (${(pg.nowMs() / 1000).toFixed(1)} of ${(r.target / 1000).toFixed(1)} s)…`);
  }
}

// ----- reading the model -------------------------------------------------------

function appendEvents(events) {
  if (!events.length) return;
  const list = $('events');
  const frag = document.createDocumentFragment();
  for (const e of events) {
    const li = document.createElement('li');
    li.className = e.category;
    li.dataset.timeMs = String(e.time_ms);
    if (e.node !== null) li.dataset.node = String(e.node);
    li.textContent = `${(e.time_ms / 1000).toFixed(3)} ${e.text}`;
    frag.appendChild(li);
  }
  list.appendChild(frag);
  let dropped = 0;
  while (list.childElementCount > EVENTS_SHOWN) { list.firstElementChild.remove(); dropped++; }
  if (dropped) {
    state.eventsDropped += dropped;
    $('events-dropped').hidden = false;
    $('events-dropped').textContent = `${state.eventsDropped} earlier events are not listed (the list keeps the latest ${EVENTS_SHOWN}; export keeps every one)`;
  }
  // Follows the newest line unless the student scrolled up.
  if (state.followEvents) list.scrollTop = list.scrollHeight;
}

// The hint under the ring says what the cluster is doing now.
function showHintState() {
  const l = leaderOf(state.nodes);
  const term = l === null ? 0 : state.nodes[l].term;
  const text = l === null ? (state.nodes.some(n => n.term > 0) ? 'has no leader: an election is under way' : 'is electing a leader')
    : `is led by S${l + 1} in term ${term}`;
  if ($('hint-state').textContent !== text) $('hint-state').textContent = text;
}

function refresh(all) {
  const f = readFrame(state.pg, state.logs, all);
  state.nodes = f.nodes;
  showHintState();
  state.messages = f.messages;
  state.cuts = f.cuts;
  appendEvents(f.events);
  readLights();
}

// ----- safety lights and bug hunts ---------------------------------------------


function readLights() {
  const lights = state.pg.lights();
  const changed = JSON.stringify(lights) !== JSON.stringify(state.lights);
  state.lights = lights;
  if (!changed) return;
  const box = $('lights');
  box.replaceChildren(...lights.map(l => {
    const span = document.createElement('span');
    span.className = l.ok ? 'light' : 'light bad';
    span.dataset.check = l.name;
    span.textContent = l.name;
    span.title = l.ok ? `${l.name}: holds` : `${l.name}: ${l.text}`;
    return span;
  }));
  // The checks go on after one breaks: the alarm tells the latest.
  const reds = lights.filter(l => !l.ok);
  const red = reds.reduce((a, l) => (a === null || l.at_ms > a.at_ms ? l : a), null);
  state.alarm = new Set(red ? red.nodes : []);
  $('timeline-mark').hidden = !red;
  $('alarm').hidden = !red;
  if (!red) return;
  $('alarm-text').textContent = `${red.name} broke at ${(red.at_ms / 1000).toFixed(3)} s: ${red.text}`;
  $('alarm-jump').onclick = () => seekTo(red.at_ms);
  const fresh = reds.filter(l => !state.redSeen.has(l.name));
  if (fresh.length) { // the first time each breaks: stop and say it
    fresh.forEach(l => state.redSeen.add(l.name));
    setPlaying(false);
    if (state.hunt && !state.hunt.revealed) reveal('A light turned red: you found it.');
  }
}

function reveal(why) {
  const h = state.hunt;
  h.revealed = true;
  $('give-up').hidden = true;
  const seed = plantedBug(h.bug.name).chaos_seed;
  const text = `${why} The planted bug was ${h.bug.name}: it breaks the rule "${h.bug.rule}". `
    + 'Press "search" under "show me how" for a shortest run that breaks it, event by event; '
    + `or watch the checks catch it in a random run: gradesim chaos --bug ${h.bug.name} --seed ${seed} --seeds 1 --trace`;
  // Kept on screen (the banner gives way to the next message), and said
  // once; in a scenario its card tells the bug already.
  banner('');
  if (!state.story) showHuntNote(text);
  $('hint-btn').hidden = true;
  explorer.offer(h.bug.name);
}

// ----- export and import: a run as a file ----------------------------------------

function exportRun() {
  const blob = new Blob([state.pg.exportRun()], { type: 'application/json' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = `raftplay-run-${(state.pg.nowMs() / 1000).toFixed(1)}s.json`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  banner('Exported: import it here, or print its events with `gradesim replay FILE`.');
}

// A file opened by import or dropped on the page: a recording, or a run
// exported from this page.
async function openFile(file) {
  const text = await file.text();
  if (looksLikeRecording(text)) openRecording(text, file.name);
  else importRun(text, file.name);
}

async function importRun(text, name) {
  let record;
  try {
    record = Playground.parseRun(text);
    adopt(Playground.restoreAtStart(record));
  } catch (e) {
    banner(`${name} could not be opened: ${e.message}`);
    return;
  }
  closeRecording();
  setPlaying(false);
  replayTo(record.time / 1000, `Opening ${name}`, () => banner(`Opened ${name}, paused at the moment it was saved.`));
}

// ----- a recorded run on this page ---------------------------------------------------

// Opens a recording's text; a file that is not one says why, and whatever
// was shown stays.
function openRecording(text, name) {
  let rec;
  try {
    rec = parseRecording(text);
  } catch (e) {
    banner(`${name} could not be opened: ${e.message}`);
    return;
  }
  setPlaying(false);
  state.replay = null;
  tip(null);
  banner(player.open(rec, name));
  // Real datagrams are tens of µs apart: start at the slowest speed.
  $('speed').value = '0';
  showSpeed();
}

function closeRecording() {
  if (!player.active) return;
  player.close();
  setPlaying(false);
  if (new URLSearchParams(location.search).has('record')) history.replaceState(null, '', location.pathname);
  reread();
  banner('Back to the simulated cluster, paused. Press space to play.');
}

function fetchRecording(url) {
  banner(`Fetching ${url}…`);
  fetch(url)
    .then(r => { if (!r.ok) throw new Error(`HTTP ${r.status}`); return r.text(); })
    .then(t => openRecording(t, url))
    .catch(e => banner(`${url} could not be fetched: ${e.message}`));
}

// ----- the course grader in the page -------------------------------------------------

const TIERS = ['bonus', 'full', 'partial', 'none'];
const METRICS = ['total_msgs', 'failures', 'duplicates', 'median_latency'];

function openGrader(name) {
  $('grader').hidden = false;
  if (name) {
    if (!graderConfigs().includes(name)) {
      $('grader-out').textContent = `There is no built-in config ${name}; they are ${graderConfigs().join(', ')}.`;
      return;
    }
    $('grader-config').value = name;
    runGrader();
  }
}

// Starts a run of the chosen config (or file): its metrics count up each
// frame; at the end, the grader's line as gradesim sim prints it.
async function runGrader() {
  const file = $('grader-file').files[0];
  let name, text;
  if (file) {
    name = file.name.replace(/\.json$/, '');
    text = await file.text();
  } else {
    name = $('grader-config').value;
    text = graderConfigText(name);
  }
  if (state.grading) state.grading.run.free();
  state.grading = null;
  $('grader-table').tBodies[0].replaceChildren();
  try {
    const run = new GraderRun(name, text, Number($('grader-seed').value) || 0);
    state.grading = { run, name };
    $('grader-out').textContent = `running ${name}…`;
  } catch (e) {
    $('grader-out').textContent = `${name}: cannot run it: ${e.message}`;
  }
}

function graderFrame(dt) {
  const g = state.grading;
  if (!g) return;
  const speed = Number($('grader-speed').value);
  const start = performance.now();
  let done = false;
  do {
    done = g.run.advance(speed === 0 ? 500 : dt * speed);
  } while (!done && speed === 0 && performance.now() - start < REPLAY_BUDGET_MS);
  const rows = [];
  if (done) {
    const s = g.run.summary();
    for (const r of s.rows) rows.push([r.metric, r.value, r.tier]);
    $('grader-out').textContent = `${s.line}${s.failed_checks.length ? `\n    failed checks: ${s.failed_checks.join('; ')}` : ''}`;
    g.run.free();
    state.grading = null;
  } else {
    const l = g.run.live();
    const values = [l.total_msgs, l.failures, l.duplicates, l.median_latency.toFixed(6)];
    METRICS.forEach((m, i) => rows.push([m, String(values[i]), l.tiers[i]]));
    $('grader-out').textContent = `running ${g.name}: ${(l.now_ms / 1000).toFixed(1)} of ${(l.end_ms / 1000).toFixed(1)} s`;
  }
  $('grader-table').tBodies[0].replaceChildren(...rows.map(r => {
    const tr = document.createElement('tr');
    for (const c of r) tr.append(Object.assign(document.createElement('td'), { textContent: c }));
    return tr;
  }));
}

// ----- guided scenarios ------------------------------------------------------------

function openScenario(name) {
  const s = findScenario(name);
  if (!s) {
    banner(`There is no scenario called ${name}; the scenarios are ${SCENARIOS.map(x => x.name).join(', ')}.`);
    return false;
  }
  if (!fresh(s.options)) return false;
  // `off`: when and how the student took over, if they did.
  state.story = { s, step: 0, memory: {}, stopAt: null, off: null };
  history.replaceState(null, '', `#scenario=${name}`);
  setPlaying(false);
  showCard();
  return true;
}

// The student acted, moved through time or let it run outside a step: the
// card says so at once, and next is off (the script's next steps were
// written for the story's own cluster).
function takeOver(how) {
  const st = state.story;
  if (!st || st.off || state.scripting) return;
  // After the last step the cluster is the student's anyway.
  if (st.step >= st.s.steps.length && st.stopAt === null) return;
  st.off = { at: state.pg.nowMs(), how, after: st.step };
  st.stopAt = null;
  showCard();
}

function showCard() {
  const st = state.story;
  $('card').hidden = !st;
  if (!st) return;
  const { s } = st;
  $('card-next').textContent = st.off ? 'start over' : 'next';
  if (st.off) {
    const n = s.steps.length;
    const o = st.off;
    $('card-title').textContent = s.title;
    $('card-step').textContent = `you took over after step ${o.after} of ${n}`;
    $('card-text').textContent = `You took over at ${(o.at / 1000).toFixed(3)} s: ${o.how}. `
      + (o.after === 0 ? 'The story had not begun.' : `What step ${o.after} said: ${s.steps[o.after - 1].say}`)
      + ' The story\'s next steps were written for its own cluster, so they are off: the cluster is yours. Start over to see the story again.';
    $('card-next').disabled = false;
    return;
  }
  const running = st.stopAt !== null;
  const paused = running && !state.playing;
  const n = s.steps.length;
  const done = st.step >= n && !running;
  $('card-title').textContent = s.title;
  // A step's card shows once it has run: what it says is on screen.
  $('card-step').textContent = running ? `step ${st.step} of ${n} (${paused ? 'paused' : 'running'})`
    : st.step === 0 ? `${n} steps` : done ? `step ${n} of ${n}, the end` : `step ${st.step} of ${n}`;
  $('card-text').replaceChildren();
  if (running) {
    $('card-text').textContent = paused ? 'Paused in the middle of the step: press play to let it finish.' : 'Watch the ring: the step is running.';
  } else if (st.step === 0) {
    $('card-text').textContent = s.intro || 'Press next to begin.';
  } else {
    $('card-text').textContent = s.steps[st.step - 1].say;
  }
  if (done) {
    const ok = reached(s, state.pg, state.logs, st.memory);
    const mark = document.createElement('span');
    mark.className = ok ? 'ok' : '';
    mark.textContent = ok ? `Reached: ${s.end.says}.` : `Not reached (you took over): ${s.end.says}.`;
    $('card-text').append(' ', mark, ' The cluster is yours: act on it, scrub the timeline, or copy the link.');
  }
  $('card-next').disabled = done || running;
}

// Runs the next step: its actions now, then the story plays for its time.
function nextStep() {
  const st = state.story;
  if (st && st.off) { openScenario(st.s.name); return; }
  if (!st || st.step >= st.s.steps.length) return;
  const step = st.s.steps[st.step];
  state.scripting = true;
  try {
    act(pg => { perform(pg, step, st.memory); return 0; });
  } finally {
    state.scripting = false;
  }
  st.stopAt = state.pg.nowMs() + step.run;
  st.until = step.until || null;
  st.step += 1;
  setPlaying(true);
  showCard();
}

// Each frame: a step that has run its time pauses for the next card.
function storyFrame() {
  const st = state.story;
  if (!st || st.stopAt === null) return;
  const happened = st.until && holds(st.until, state.pg, state.logs, st.memory);
  if (!happened && state.pg.nowMs() < st.stopAt) return;
  st.stopAt = null;
  setPlaying(false);
  refresh(false);
  showCard();
}

// Runs a step's time at once: until its event, `run` ms at most.
function runStep(step, memory) {
  const end = state.pg.nowMs() + step.run;
  while (state.pg.nowMs() < end) {
    if (step.until) {
      refresh(false);
      if (holds(step.until, state.pg, state.logs, memory)) return;
    }
    state.pg.advance(Math.min(5, end - state.pg.nowMs()));
  }
}

// Every step at once, or the next `count` (for tests): actions, then the
// step's run. Returns whether the end state is reached.
function runScenario(count = Infinity) {
  const st = state.story;
  for (let i = 0; i < count && st && st.step < st.s.steps.length; i++) {
    const step = st.s.steps[st.step];
    perform(state.pg, step, st.memory);
    runStep(step, st.memory);
    st.step += 1;
    refresh(false);
  }
  st.stopAt = null;
  showCard();
  // The end state is named for the end: before it, null.
  return st.step >= st.s.steps.length ? reached(st.s, state.pg, state.logs, st.memory) : null;
}

function startHunt() {
  const seed = Math.floor(Math.random() * 2 ** 31);
  if (!fresh({ ...readOptions(), hunt: seed })) return;
  setPlaying(true);
  banner('A bug is planted in this cluster\'s core: one rule of Raft broken, from the paper or from Ongaro\'s thesis (where the read lease and the vote guard come from). Break the cluster (crash, restart, time out, partition, drops, puts, gets, automatic load) until a safety light turns red. Stuck? Press "hint".');
}

function plantedBug(name) {
  return explorer.hooks.bugs.find(b => b.name === name);
}

function showHuntNote(text) {
  $('hunt-note').hidden = !text;
  $('hunt-note').textContent = text;
}

// The next hint of the hunt: the light to watch, then what to try.
function nextHint() {
  const h = state.hunt;
  if (!h || h.revealed) return;
  const hints = plantedBug(h.bug.name).hints;
  h.hints = Math.min(hints.length, (h.hints || 0) + 1);
  showHuntNote(hints.slice(0, h.hints).map((t, i) => `Hint ${i + 1}: ${t}`).join(' '));
  $('hint-btn').disabled = h.hints >= hints.length;
}

// The one-letter names a scenario gave nodes (Figure 8's A to E), by node.
function storyNames() {
  const memory = state.story ? state.story.memory : {};
  return new Map(Object.entries(memory).filter(([k]) => /^[A-E]$/.test(k)).map(([k, id]) => [id, k]));
}

function leader() {
  return leaderOf(state.nodes);
}

// ----- drawing -------------------------------------------------------------------

function draw(now) {
  const pg = state.pg;
  const drawn = drawCluster($('cluster'), {
    nodes: state.nodes,
    messages: state.messages,
    cuts: state.cuts,
    nowMs: pg.nowMs(),
    selected: state.selected,
    group: state.group,
    alarm: state.alarm,
    electionMaxMs: state.options.election_timeout_max_ms,
    names: storyNames(),
  });
  state.centres = drawn.centres;
  state.radius = drawn.radius;
  state.placed = drawn.placed;
  state.logLayout = drawLogs($('logs'), state.nodes, state.logs.byNode);
  const now_ = pg.nowMs();
  state.bars = drawHistory($('lane'), pg.historySince(Math.max(0, now_ - LANE_MS)), now_, LANE_MS);
  if (state.hover) state.hover();
  if (!state.seeking) {
    const t = $('timeline');
    t.max = String(Math.max(1, Math.round(pg.horizonMs())));
    t.value = String(Math.round(pg.nowMs()));
  }
  $('now').textContent = `${(pg.nowMs() / 1000).toFixed(3)} s`;
  const red = state.lights.find(l => !l.ok);
  if (red) $('timeline-mark').style.left = `${(100 * red.at_ms) / Math.max(1, pg.horizonMs())}%`;
  drawInspector();
  if (now - state.lastKv > 250) {
    state.lastKv = now;
    drawKv();
  }
}

function drawInspector() {
  const id = state.selected;
  const buttons = ['crash', 'restart', 'timeout'];
  if (id === null || !state.nodes[id]) {
    $('inspect-title').textContent = 'click a node';
    $('inspect-body').textContent = 'Select a node on the ring (or press 1-9) to see its state and act on it.';
    buttons.forEach(b => ($(b).disabled = id === null && b !== 'crash'));
    return;
  }
  const n = state.nodes[id];
  $('inspect-title').textContent = `S${id + 1}: ${n.alive ? n.role : 'crashed'}, term ${n.term}`;
  // Figure 2's persistent state (term, vote, log) survives a crash; the
  // rest is volatile.
  const lines = [
    `term        ${n.term}  (persistent)`,
    `voted for   ${n.voted_for === null ? '-' : 'S' + (n.voted_for + 1)}  (persistent)`,
    `log         ${n.log_len} entries  (persistent)`,
    `leader      ${n.leader === null ? 'unknown' : 'S' + (n.leader + 1)}  (volatile)`,
    `commit      ${n.commit}  (volatile)`,
  ];
  if (n.alive && n.role !== 'leader') {
    lines.push(`times out   in ${Math.max(0, n.election_deadline_ms - state.pg.nowMs()).toFixed(0)} ms`);
    if (n.vote_guard_ms !== null) lines.push(`vote guard  until ${(n.vote_guard_ms / 1000).toFixed(3)} s: refuses candidates, holds back a forced timeout`);
  }
  if (n.held) lines.push(`holding     ${n.held} client requests (no leader known)`);
  for (const p of n.progress) lines.push(`S${p.peer + 1}: next ${p.next}, match ${p.matched}`);
  $('inspect-body').textContent = lines.join('\n');
  $('crash').disabled = !n.alive;
  $('restart').disabled = n.alive;
  $('timeout').disabled = !n.alive || n.role === 'leader';
}

function drawKv() {
  const id = state.selected !== null ? state.selected : leader();
  const list = $('kv');
  if (id === null) {
    $('kv-title').textContent = 'key-value';
    list.replaceChildren(Object.assign(document.createElement('li'), { textContent: 'no leader yet' }));
    return;
  }
  const pairs = state.pg.kv(id);
  $('kv-title').textContent = `key-value (S${id + 1})`;
  const items = pairs.map(([k, v]) => {
    const li = document.createElement('li');
    const key = document.createElement('b');
    key.textContent = k;
    li.append(key, ` = ${v}`);
    return li;
  });
  if (!items.length) items.push(Object.assign(document.createElement('li'), { textContent: '(empty)' }));
  list.replaceChildren(...items);
}

// ----- hovering: what a message or a log entry holds ---------------------------------

function tip(text, e) {
  const t = $('tip');
  if (!text) { t.hidden = true; return; }
  t.textContent = text;
  t.hidden = false;
  t.style.left = `${Math.min(e.clientX + 14, window.innerWidth - t.offsetWidth - 8)}px`;
  t.style.top = `${e.clientY + 14}px`;
}

// The message in flight under the pointer, in words.
// The message under the pointer, in words. A message once hovered stays
// described until the pointer moves (`state.watched`), and once it has
// arrived the tip adds what its arrival caused: the receiver's events at
// that moment.
function messageTip(x, y) {
  let best = null, dist = 12;
  for (const p of state.placed || []) {
    const d = Math.hypot(p.x - x, p.y - y);
    if (d < dist) { best = p.m; dist = d; }
  }
  if (best) state.watched = best;
  const m = state.watched;
  if (!m) return null;
  if (m.held !== null) return `S${m.from + 1} → S${m.to + 1}: ${m.text}, term ${m.term}\nwaiting on its link: click to deliver it, right click to drop it or deliver a copy`;
  const fate = m.lost ? `\nwill not arrive: ${LOSSES[m.lost]}` : '';
  const text = `S${m.from + 1} → S${m.to + 1}: ${m.text}, term ${m.term}\nsent ${(m.sent_ms / 1000).toFixed(3)} s, arrives ${(m.arrives_ms / 1000).toFixed(3)} s${fate}`;
  if (m.lost || state.pg.nowMs() < m.arrives_ms) return text;
  // Once arrived, what it caused is looked up once, not every frame.
  if (m.caused === undefined) {
    const caused = state.pg.recentEvents().filter(e => e.node === m.to && Math.abs(e.time_ms - m.arrives_ms) < 1e-6);
    m.caused = caused.length ? caused.map(e => `  ${e.text}`).join('\n') : '  nothing the event list tells';
  }
  return `${text}\non arrival:\n${m.caused}`;
}

// The log entry under the pointer, in words.
function entryTip(x, y) {
  const l = state.logLayout;
  if (!l) return null;
  const id = Math.floor((y - l.top) / l.row);
  const node = state.nodes[id];
  const index = l.first + Math.floor((x - l.left) / (l.cell + 1));
  const log = state.logs.byNode[id];
  if (!node || !log || x < l.left || index < 1 || index > log.terms.length) return null;
  const key = log.keys[index - 1];
  const status = !node.alive || !node.commit_known ? (index <= node.commit ? 'committed' : 'commit index unknown (volatile)')
    : index <= node.commit ? 'committed' : 'not yet committed';
  return `S${id + 1}, index ${index}: term ${log.terms[index - 1]}, ${key ? key : "no-op"}\n${status}`;
}

function follow(canvas, describe) {
  canvas.addEventListener('mousemove', e => {
    const r = canvas.getBoundingClientRect();
    const x = e.clientX - r.left, y = e.clientY - r.top;
    state.watched = null;
    state.hover = () => tip(describe(x, y), e);
    state.hover();
  });
  canvas.addEventListener('mouseleave', () => { state.hover = null; state.watched = null; tip(null); });
}

// ----- acting ----------------------------------------------------------------------

// Does `f` on the model. A refusal shows why (nothing is recorded); acting
// in the past forks the run, and says so.
function act(f) {
  takeOver('you acted on the cluster');
  if (state.replay) { state.replay = null; reread(); }
  const at = state.pg.nowMs();
  try {
    const discarded = f(state.pg);
    if (discarded > 0) {
      banner(`The run forked at ${(at / 1000).toFixed(3)} s: you acted in the past, so the ${discarded} later action${discarded === 1 ? ' was' : 's were'} discarded.`);
    } else {
      banner('');
    }
  } catch (e) {
    banner(e.message);
  }
  refresh(false);
  showSettings(state.pg.settings());
  if (explorer) explorer.render();
}

// A forced timeout; when the vote guard holds it back, the page says so
// rather than doing nothing in silence.
function timeOut(id) {
  act(pg => pg.timeout(id));
  const n = state.pg.nodes()[id];
  if (n.alive && n.role === 'follower' && n.vote_guard_ms !== null) {
    const why = n.leader !== null ? `it heard from its leader S${n.leader + 1} less than a minimum election timeout ago`
      : 'it started less than a minimum election timeout ago and has heard no leader since';
    banner(`S${id + 1} does not time out yet: ${why}, so it holds back until ${(n.vote_guard_ms / 1000).toFixed(3)} s, and waits longer whenever the leader is heard again (the vote guard, thesis §4.2.3, an extension beyond the paper: the "paper" preset turns it off).`);
  }
}

function target() {
  return state.selected !== null ? state.selected : leader();
}

// Buttons that cut one direction of a link from the selected node.
function renderCuts() {
  const row = $('cut-row');
  row.replaceChildren();
  const id = state.selected;
  if (id === null || !state.options) return;
  row.append('cut link to');
  for (let to = 0; to < state.options.nodes; to++) {
    if (to === id) continue;
    const b = document.createElement('button');
    b.textContent = `S${to + 1}`;
    b.title = `drop everything S${id + 1} sends to S${to + 1} until the next heal`;
    b.addEventListener('click', () => act(pg => pg.cut(id, to)));
    row.append(b);
  }
}

function select(id) {
  state.selected = id !== null && id < state.nodes.length ? id : null;
  state.lastKv = 0;
  renderCuts();
  drawInspector();
  const box = $('inspect').getBoundingClientRect();
  if (state.selected !== null && (box.top < 0 || box.bottom > window.innerHeight)) {
    $('inspect').scrollIntoView({ block: 'nearest' });
  }
}

function renderGroup() {
  const g = $('group');
  g.replaceChildren();
  const n = state.options ? state.options.nodes : 5;
  for (let i = 0; i < n; i++) {
    const label = document.createElement('label');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.checked = state.group.has(i);
    box.addEventListener('change', () => {
      box.checked ? state.group.add(i) : state.group.delete(i);
    });
    label.append(box, ` S${i + 1}`);
    g.append(label);
  }
}

function heal() {
  act(pg => pg.heal());
  state.group.clear();
  renderGroup();
}

function seekTo(ms, then) {
  takeOver('you moved to another moment of the run');
  setPlaying(false);
  if (ms < state.pg.nowMs()) state.pg.rewind();
  replayTo(ms, 'Replaying to that moment', () => { banner(''); if (then) then(); });
}

const keys = {
  ' ': () => (player.active ? player.togglePlay() : setPlaying(!state.playing)),
  '.': () => (player.active ? player.step() : act(pg => { pg.step(); return 0; })),
  '+': () => { $('speed').value = String(Math.min(150, Number($('speed').value) + 10)); showSpeed(); },
  '-': () => { $('speed').value = String(Math.max(0, Number($('speed').value) - 10)); showSpeed(); },
  c: () => { const t = target(); if (t !== null) act(pg => pg.crash(t)); },
  r: () => { if (state.selected !== null) act(pg => pg.restart(state.selected)); },
  t: () => { if (state.selected !== null) timeOut(state.selected); },
  p: () => $('put').click(),
  g: () => $('get').click(),
  a: () => $('auto').click(),
  h: heal,
  e: () => explorer.toggle(),
  z: () => explorer.undo(),
  '?': () => state.help.open(),
  Escape: () => select(null),
};

// The keys a recording answers to: it can be watched, not acted on.
const RECORDING_KEYS = new Set([' ', '.', '+', '-', '?', 'Escape']);
const ARROWS = { ArrowLeft: -1, ArrowRight: 1 };

function bindControls() {
  for (let n = 3; n <= 9; n++) $('nodes').add(new Option(String(n), String(n)));
  $('nodes').value = '5';
  let playingBeforeHelp = false;
  const watched = () => (player.active ? player : { playing: state.playing, setPlaying });
  state.help = new HelpDialog({
    onOpen: () => { playingBeforeHelp = watched().playing; watched().setPlaying(false); },
    onClose: () => watched().setPlaying(playingBeforeHelp),
  });
  fillLegend($('legend'));
  $('play').addEventListener('click', keys[' ']);
  $('step').addEventListener('click', keys['.']);
  $('speed').addEventListener('input', showSpeed);
  $('new').addEventListener('click', () => { if (fresh(readOptions())) setPlaying(true); });
  // The label follows the drag; the change is one action, on release.
  $('drops').addEventListener('input', () => { $('drops-out').textContent = `${$('drops').value}%`; });
  $('drops').addEventListener('change', () => act(pg => pg.setDropRate(Number($('drops').value) / 100)));
  const latency = () => act(pg => pg.setLatency(Number($('lat-min').value), Number($('lat-max').value)));
  $('lat-min').addEventListener('change', latency);
  $('lat-max').addEventListener('change', latency);
  $('copy-link').addEventListener('click', async () => {
    const link = linkFor();
    try { await navigator.clipboard.writeText(link); banner('Link copied: it reopens this run at this moment.'); }
    catch { banner(`Copy this link: ${link}`); }
  });
  $('help-btn').addEventListener('click', () => state.help.open());
  $('put').addEventListener('click', () => act(pg => pg.put($('key').value, $('value').value, state.selected ?? undefined)));
  $('get').addEventListener('click', () => act(pg => pg.get($('key').value, state.selected ?? undefined)));
  $('auto').addEventListener('change', () => act(pg => pg.setAuto($('auto').checked)));
  $('partition').addEventListener('click', () => {
    if (!state.group.size) return banner('Check the nodes of one group first, then press partition.');
    act(pg => pg.partition([[...state.group]]));
  });
  $('heal').addEventListener('click', heal);
  $('crash').addEventListener('click', keys.c);
  $('restart').addEventListener('click', keys.r);
  $('timeout').addEventListener('click', keys.t);
  // Event filters: a class on the list hides a category.
  for (const box of document.querySelectorAll('#filters input')) {
    box.addEventListener('change', () => $('events').classList.toggle(`hide-${box.dataset.category}`, !box.checked));
  }
  // The student scrolling up (wheel, keys, the scrollbar) stops the list
  // following; back at the bottom, it follows again. Scrolls the page
  // makes itself (following, trimming the top) change nothing.
  const list = $('events');
  let dragging = false;
  list.addEventListener('wheel', e => { if (e.deltaY < 0) state.followEvents = false; });
  list.addEventListener('keydown', e => { if (['ArrowUp', 'PageUp', 'Home'].includes(e.key)) state.followEvents = false; });
  list.addEventListener('pointerdown', () => { dragging = true; });
  document.addEventListener('pointerup', () => { dragging = false; });
  list.addEventListener('scroll', () => {
    const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 8;
    if (atBottom) state.followEvents = true;
    else if (dragging) state.followEvents = false;
  });
  // A click on an event goes to its moment and selects its node.
  $('events').addEventListener('click', e => {
    const li = e.target.closest('li');
    if (!li || li.dataset.timeMs === undefined) return;
    const node = li.dataset.node === undefined ? null : Number(li.dataset.node);
    seekTo(Number(li.dataset.timeMs), () => select(node));
  });
  $('hunt').addEventListener('click', startHunt);
  for (const n of graderConfigs()) $('grader-config').add(new Option(n, n));
  $('grader-btn').addEventListener('click', () => openGrader(null));
  $('grader-run').addEventListener('click', runGrader);
  $('grader-config').addEventListener('change', () => { $('grader-file').value = ''; });
  $('grader-close').addEventListener('click', () => { $('grader').hidden = true; });
  $('preset').addEventListener('change', () => {
    choosePreset($('preset').value);
    banner(`Preset: ${PRESETS[$('preset').value].label}. Press "new cluster" to start one with it (every option applies to new clusters).`);
  });
  $('prevote').addEventListener('change', showPreset);
  $('checkquorum').addEventListener('change', showPreset);
  for (const id of ['nodes', 'seed', 'prevote', 'checkquorum', 'preset']) {
    $(id).addEventListener('change', showPending);
    $(id).addEventListener('input', showPending);
  }
  // A link opened on a page already open: it opens what it names.
  window.addEventListener('hashchange', openFromHash);
  for (const s of SCENARIOS) $('card-list').add(new Option(s.title, s.name));
  $('scenarios').addEventListener('click', () => {
    if (!state.story) openScenario(SCENARIOS[0].name);
    else $('card').hidden = false;
  });
  $('card-list').addEventListener('change', () => { if ($('card-list').value) openScenario($('card-list').value); $('card-list').value = ''; });
  $('card-next').addEventListener('click', nextStep);
  $('card-close').addEventListener('click', () => { state.story = null; showCard(); });
  $('export').addEventListener('click', exportRun);
  $('import').addEventListener('click', () => $('import-file').click());
  // A file picked: opened, and the picker emptied so the same file can be
  // picked again.
  const onPick = (input, open) => input.addEventListener('change', () => {
    if (input.files[0]) open(input.files[0]);
    input.value = '';
  });
  onPick($('import-file'), openFile);
  $('open-recording').addEventListener('click', () => $('record-file').click());
  onPick($('record-file'), async file => openRecording(await file.text(), file.name));
  $('first-bad').addEventListener('click', () => player.firstBad());
  $('rec-close').addEventListener('click', closeRecording);
  $('prints').addEventListener('click', e => {
    const li = e.target.closest('li');
    if (li && li.dataset.t !== undefined) player.jumpTo(Number(li.dataset.t));
  });
  document.addEventListener('dragover', e => { e.preventDefault(); document.body.classList.add('dropping'); });
  document.addEventListener('dragleave', () => document.body.classList.remove('dropping'));
  document.addEventListener('drop', e => {
    e.preventDefault();
    document.body.classList.remove('dropping');
    const file = e.dataTransfer.files[0];
    if (file) openFile(file);
  });
  $('give-up').addEventListener('click', () => { if (state.hunt) reveal('You gave up.'); });
  $('hint-btn').addEventListener('click', nextHint);
  // A click on an operation selects the node that answered it.
  $('lane').addEventListener('click', e => {
    const r = $('lane').getBoundingClientRect();
    const x = e.clientX - r.left, y = e.clientY - r.top;
    if (player.active) return player.clickLane(x, y);
    const bar = (state.bars || []).find(b => x >= b.x0 && x <= b.x1 && y >= b.y0 && y <= b.y1);
    if (bar && bar.op.answered_by !== null) select(bar.op.answered_by);
  });
  follow($('lane'), (x, y) => {
    if (player.active) return player.tipLane(x, y);
    const bar = (state.bars || []).find(b => x >= b.x0 && x <= b.x1 && y >= b.y0 && y <= b.y1);
    if (!bar) return null;
    const o = bar.op;
    const what = o.put !== null ? `put ${o.key}=${o.put}` : `get ${o.key}`;
    const answer = o.response_ms === null ? 'unanswered'
      : `${o.put !== null ? 'ok' : `ok, ${JSON.stringify(o.result)}`} from S${o.answered_by + 1} at ${(o.response_ms / 1000).toFixed(3)} s`;
    return `${what}, invoked at ${(o.invoke_ms / 1000).toFixed(3)} s: ${answer}`;
  });
  follow($('cluster'), (x, y) => (player.active ? player.tipRing(x, y) : messageTip(x, y)));
  follow($('logs'), entryTip);
  const timeline = $('timeline');
  timeline.addEventListener('input', () => {
    if (player.active) return player.jumpTo(Number(timeline.value));
    state.seeking = true;
    seekTo(Number(timeline.value));
  });
  timeline.addEventListener('change', () => { state.seeking = false; });
  $('cluster').addEventListener('click', e => {
    const r = $('cluster').getBoundingClientRect();
    const x = e.clientX - r.left, y = e.clientY - r.top;
    if (player.active) return player.clickRing(x, y);
    // A click on a node selects it, even when a message is just leaving or
    // reaching it (a leader's heartbeats sit on its centre as they leave).
    const hit = nodeAt(x, y);
    if (hit >= 0) return select(hit);
    // A click on a message in flight, between the nodes, drops it; in
    // explore mode it delivers it.
    const flying = (state.placed || []).find(p => Math.hypot(p.x - x, p.y - y) < 10 && !p.m.lost);
    if (flying && flying.m.held !== null) return explorer.clickMessage(flying.m);
    if (flying) {
      const m = flying.m;
      act(pg => pg.dropMessage(m.from, m.to, m.sent_ms));
      return;
    }
    select(null);
  });
  $('cluster').addEventListener('contextmenu', e => {
    if (player.active || !state.pg.exploring()) return;
    const r = $('cluster').getBoundingClientRect();
    const x = e.clientX - r.left, y = e.clientY - r.top;
    const waiting = (state.placed || []).find(p => Math.hypot(p.x - x, p.y - y) < 10 && p.m.held !== null);
    if (!waiting) return;
    e.preventDefault();
    explorer.openMenu(waiting.m, e.clientX, e.clientY);
  });
  explorer = new Explorer({
    pg: () => state.pg,
    act,
    reread,
    restart: opts => fresh(opts),
    options: () => state.options,
    banner,
    setPlaying,
    bugs: plantedBugs(),
  });
  document.addEventListener('keydown', e => {
    if (state.help.isOpen) return state.help.handleKey(e);
    if (e.target instanceof HTMLInputElement && e.target.type !== 'checkbox' && e.target.type !== 'range') return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (player.active) {
      if (ARROWS[e.key]) { e.preventDefault(); player.arrow(ARROWS[e.key]); return; }
      if (!RECORDING_KEYS.has(e.key)) return;
    }
    if (/^[1-9]$/.test(e.key)) { select(Number(e.key) - 1); return; }
    const f = keys[e.key];
    if (f) { e.preventDefault(); f(); }
  });
}

// The node under a point of the cluster canvas, or -1.
function nodeAt(x, y) {
  const r = $('cluster').getBoundingClientRect();
  const { radius } = layout(state.nodes.length, r.width, r.height);
  return state.centres.findIndex(c => Math.hypot(c.x - x, c.y - y) <= radius + 8);
}

function frame(now) {
  const dt = state.lastFrame === null ? 0 : Math.min(100, now - state.lastFrame);
  state.lastFrame = now;
  if (player.active) {
    player.frame(dt, speed());
    player.draw();
    if (state.hover) state.hover();
    requestAnimationFrame(frame);
    return;
  }
  if (state.replay) {
    stepReplay();
  } else if (state.playing) {
    try {
      const st = state.story;
      const left = st && st.stopAt !== null ? Math.max(0, st.stopAt - state.pg.nowMs()) : Infinity;
      state.pg.advance(Math.min(dt * speed(), left));
    } catch (e) {
      setPlaying(false);
      banner(`The simulation stopped: ${e.message}`);
    }
  }
  if (!state.replay) refresh(false);
  storyFrame();
  graderFrame(dt);
  draw(now);
  saveUrl(now);
  requestAnimationFrame(frame);
}

async function main() {
  await init();
  bindControls();
  showSpeed();
  if (!openFromHash()) fresh(readOptions());
  // ?record=URL: a recording from the same origin, over the cluster.
  const recorded = new URLSearchParams(location.search).get('record');
  if (recorded) fetchRecording(recorded);
  // Hooks for tests and the curious.
  window.raftplay = {
    playground: () => state.pg,
    leader,
    nodes: () => state.nodes,
    replaying: () => state.replay !== null,
    // Reads and draws the model at once, so that what placed(), droppable()
    // and bars() return next is the model's present, not the last frame's.
    redraw: () => { if (!state.replay && !player.active) { refresh(false); draw(performance.now()); } },
    nodeCenter: id => {
      const r = $('cluster').getBoundingClientRect();
      const c = state.centres[id];
      return { x: r.left + c.x, y: r.top + c.y };
    },
    // The ring as drawn: node centres on the canvas and their radius.
    ring: () => ({ centres: state.centres, radius: state.radius, width: $('cluster').clientWidth, height: $('cluster').clientHeight }),
    committed: key => committed(state.nodes, state.logs, key),
    messageAt: i => state.placed[i] && { x: state.placed[i].x, y: state.placed[i].y },
    // Messages drawn between the nodes, where a click drops them.
    droppable: () => (state.placed || []).filter(p => !p.m.lost && nodeAt(p.x, p.y) < 0)
      .map(p => ({ x: p.x, y: p.y, from: p.m.from, to: p.m.to, sent_ms: p.m.sent_ms, held: p.m.held, text: p.m.text })),
    logLayout: () => state.logLayout,
    lights: () => state.lights,
    bars: () => (state.bars || []).map(b => ({ x: (b.x0 + b.x1) / 2, y: (b.y0 + b.y1) / 2, op: b.op })),
    hunt: () => state.hunt,
    exploring: () => state.pg.exploring(),
    ringNames: () => [...storyNames()],
    runScenario,
    // Whether the event the last step run ends on (its `until`) holds now;
    // null if the step names none.
    stepHeld: () => {
      const st = state.story;
      const step = st && st.step > 0 ? st.s.steps[st.step - 1] : null;
      return step && step.until ? holds(step.until, state.pg, state.logs, st.memory) : null;
    },
    scenarios: () => SCENARIOS.map(s => s.name),
    grading: () => state.grading !== null,
  };
  window.recording = player.hooks();
  requestAnimationFrame(frame);
}

main().catch(e => banner(`The playground failed to start: ${e.message}`));
