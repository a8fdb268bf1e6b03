// The playground page: a requestAnimationFrame loop advances the simulated
// cluster (WebAssembly) by the frame's wall time times the speed, reads what
// changed (model.js) and draws it (view.js, draw.js). Input goes through
// act() (input.js), which reports refusals and forks. While a recording is
// open (player.js), the loop, the canvas, the timeline, the lane and the
// keys are its. The state every module shares is state.js's.
import init, { Playground } from './pkg/raftplay.js';
import { layout } from './draw.js';
import { leaderOf, committed } from './model.js';
import { readOptions, showOptions, showSettings, showCluster } from './controls.js';
import { SCENARIOS, holds } from './scenarios.js';
import { $, state, player, speed, showSpeed, banner } from './state.js';
import { saveUrl, openFromHash } from './url.js';
import { stepReplay, fetchRecording } from './replay.js';
import { appendEvents, refresh, draw } from './view.js';
import { showHuntNote } from './hunt.js';
import { graderFrame } from './grader-panel.js';
import { takeOver, showCard, storyFrame, runScenario, storyNames } from './story.js';
import { explorer, renderCuts, renderGroup, bindControls } from './input.js';

export function setPlaying(on) {
  const st = state.story;
  if (on && st && st.stopAt === null && !state.scripting) takeOver('you let time run on beyond the story');
  state.playing = on;
  if (st && st.stopAt !== null) showCard();
  $('play').textContent = state.playing ? '❚❚ pause' : '▶ play';
}

// Replaces the cluster; every view is read afresh.
export function adopt(pg) {
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
export function reread() {
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
export const LIVE_OPTIONS = new Set(['latency_min_ms', 'latency_max_ms', 'drop_rate']);

export function showPending() {
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

export function fresh(opts) {
  try {
    adopt(new Playground(opts));
    banner('');
    return true;
  } catch (e) {
    banner(`Cannot start a cluster with these options: ${e.message}`);
    return false;
  }
}

// A newcomer's first visit opens paused at time 0, so that the first
// election does not happen before they look: the banner says what they
// are about to see. Later visits open running.
const VISITED = 'raftplay.visited';
function firstLook() {
  let seen = true;
  try {
    seen = localStorage.getItem(VISITED) !== null;
    localStorage.setItem(VISITED, '1');
  } catch { /* storage off: open running */ }
  if (seen) return;
  setPlaying(false);
  banner('Five servers have just started, all followers, each with a random election timeout (the ring around it runs down, §5.2). ' +
    'Press space or ▶ play to watch which one times out first, asks for votes and becomes the leader; + and − change the speed.');
}

export function leader() {
  return leaderOf(state.nodes);
}

// The node under a point of the cluster canvas, or -1.
export function nodeAt(x, y) {
  const r = $('cluster').getBoundingClientRect();
  const { radius } = layout(state.nodes.length, r.width, r.height);
  return state.centres.findIndex(c => Math.hypot(c.x - x, c.y - y) <= radius + 8);
}

export function frame(now) {
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

export async function main() {
  await init();
  bindControls();
  showSpeed();
  if (!openFromHash() && fresh(readOptions())) firstLook();
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
      const claims = step && (step.claims || step.until);
      return claims ? holds(claims, state.pg, state.logs, st.memory) : null;
    },
    scenarios: () => SCENARIOS.map(s => s.name),
    grading: () => state.grading !== null,
  };
  window.recording = player.hooks();
  requestAnimationFrame(frame);
}

main().catch(e => banner(`The playground failed to start: ${e.message}`));
