// Guided scenarios: the cards, their steps, and a student taking over.
import { SCENARIOS, findScenario, perform, reached, holds } from './scenarios.js';
import { $, state, banner, writeHash } from './state.js';
import { refresh } from './view.js';
import { act } from './input.js';
import { setPlaying, fresh } from './app.js';

export function openScenario(name) {
  const s = findScenario(name);
  if (!s) {
    banner(`There is no scenario called ${name}; the scenarios are ${SCENARIOS.map(x => x.name).join(', ')}.`);
    return false;
  }
  if (!fresh(s.options)) return false;
  // `off`: when and how the student took over, if they did.
  state.story = { s, step: 0, memory: {}, stopAt: null, off: null };
  writeHash(`#scenario=${name}`);
  setPlaying(false);
  showCard();
  return true;
}

// The student acted, moved through time or let it run outside a step: the
// card says so at once, and next is off (the script's next steps were
// written for the story's own cluster).
export function takeOver(how) {
  const st = state.story;
  if (!st || st.off || state.scripting) return;
  // After the last step the cluster is the student's anyway.
  if (st.step >= st.s.steps.length && st.stopAt === null) return;
  st.off = { at: state.pg.nowMs(), how, after: st.step };
  st.stopAt = null;
  showCard();
}

export function showCard() {
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
export function nextStep() {
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
export function storyFrame() {
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
export function runStep(step, memory) {
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
export function runScenario(count = Infinity) {
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

// The one-letter names a scenario gave nodes (Figure 8's A to E), by node.
export function storyNames() {
  const memory = state.story ? state.story.memory : {};
  return new Map(Object.entries(memory).filter(([k]) => /^[A-E]$/.test(k)).map(([k, id]) => [id, k]));
}
