// What the page's modules share: the run's state (declared here whole,
// each field with what it holds), the open recording's player, and the
// banner and speed controls every part uses.
import { Logs } from './model.js';
import { Player } from './player.js';

export const $ = id => document.getElementById(id);

export const EVENTS_SHOWN = 200;
// The history lane shows this much of the timeline, ms.
export const LANE_MS = 5000;
// Wall-clock budget per frame for replaying a link or a seek, ms.
export const REPLAY_BUDGET_MS = 25;

export const state = {
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
  // The hash the page itself last put in the address bar, or took from
  // it: one that differs was set by someone else (a link, a script) and
  // waits for its hashchange, which the page's own saving must not
  // overwrite first.
  urlHash: null,
  // As last drawn: the nodes' radius on the ring, each message's place
  // ({x, y, m}), the logs' cells, the lane's bars (for clicks and tips).
  radius: 0,
  placed: [],
  logLayout: null,
  bars: [],
  // Redraws the tip under a resting pointer each frame, if one is shown.
  hover: null,
};

// A recorded run, when one is open.
export const player = new Player();
// Explore mode and "show me how" (bound once the module is loaded).

export function speed() {
  return Math.pow(10, (Number($('speed').value) - 100) / 50);
}

export function showSpeed() {
  const s = speed();
  $('speed-out').textContent = s >= 1.005 ? `${s < 10 ? s.toFixed(1) : Math.round(s)}×` : s >= 0.995 ? '1×' : `1/${Math.round(1 / s)}×`;
}

export function banner(text) {
  const b = $('banner');
  b.textContent = text;
  b.hidden = !text;
}

// Puts `hash` in the address bar without a history entry, as the page's
// own (see `state.urlHash`); '' leaves the bare page address.
export function writeHash(hash) {
  history.replaceState(null, '', hash || location.pathname);
  state.urlHash = location.hash;
}
