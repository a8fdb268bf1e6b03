// The safety lights, and bug hunts: a light turning red, the reveal,
// the hints.
import { holds } from './scenarios.js';
import { readOptions } from './controls.js';
import { $, state, banner } from './state.js';
import { seekTo } from './replay.js';
import { explorer } from './input.js';
import { setPlaying, fresh } from './app.js';

export function readLights() {
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

export function reveal(why) {
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

export function startHunt() {
  const seed = Math.floor(Math.random() * 2 ** 31);
  if (!fresh({ ...readOptions(), hunt: seed })) return;
  setPlaying(true);
  banner('A bug is planted in this cluster\'s core: one rule of Raft broken, from the paper or from Ongaro\'s thesis (where the read lease and the vote guard come from). Break the cluster (crash, restart, time out, partition, drops, puts, gets, automatic load) until a safety light turns red. Stuck? Press "hint".');
}

export function plantedBug(name) {
  return explorer.hooks.bugs.find(b => b.name === name);
}

export function showHuntNote(text) {
  $('hunt-note').hidden = !text;
  $('hunt-note').textContent = text;
}

// The next hint of the hunt: the light to watch, then what to try.
export function nextHint() {
  const h = state.hunt;
  if (!h || h.revealed) return;
  const hints = plantedBug(h.bug.name).hints;
  h.hints = Math.min(hints.length, (h.hints || 0) + 1);
  showHuntNote(hints.slice(0, h.hints).map((t, i) => `Hint ${i + 1}: ${t}`).join(' '));
  $('hint-btn').disabled = h.hints >= hints.length;
}
