// The URL holds the run: the link of the current moment, kept in the
// address bar, and what a link or a hash opens.
import { Playground } from './pkg/raftplay.js';
import { runHash, runInHash, decodeRecord } from './link.js';
import { readOptions } from './controls.js';
import { $, state, banner, writeHash } from './state.js';
import { replayTo } from './replay.js';
import { openGrader } from './grader-panel.js';
import { openScenario } from './story.js';
import { setPlaying, adopt, fresh } from './app.js';

export function linkFor() {
  return `${location.origin}${location.pathname}${runHash(state.pg.record())}`;
}

// Saves the run's link in the address bar, once a second at most; not
// while a scenario's card is open (the address names the scenario, which
// reopens its card), nor over a hash someone else set.
export function saveUrl(now) {
  if (state.replay || state.story || now - state.lastUrl < 1000 || location.hash !== state.urlHash) return;
  state.lastUrl = now;
  writeHash(runHash(state.pg.record()));
}

export function openFromUrl() {
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
    writeHash('');
    fresh(readOptions());
    banner(`This link could not be opened (${e.message}); here is a fresh cluster instead.`);
  }
  return true;
}

// What the URL's hash names: a scenario, a grader config or a run; false
// if it names nothing (or a scenario that does not exist).
export function openFromHash() {
  state.urlHash = location.hash;
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
