// Acting on the run: every control, click and key, through act() (which
// reports refusals and forks); explore mode's panel.
import { graderConfigs, plantedBugs } from './pkg/raftplay.js';
import { fillLegend } from './draw.js';
import { readOptions, showSettings, HelpDialog, choosePreset, showPreset, PRESETS } from './controls.js';
import { SCENARIOS, holds } from './scenarios.js';
import { Explorer } from './explore.js';
import { $, state, player, speed, showSpeed, banner } from './state.js';
import { linkFor, openFromHash } from './url.js';
import { exportRun, openFile, openRecording, closeRecording, seekTo } from './replay.js';
import { refresh, drawInspector, messageTip, entryTip, follow } from './view.js';
import { reveal, startHunt, nextHint } from './hunt.js';
import { openGrader, runGrader } from './grader-panel.js';
import { openScenario, takeOver, showCard, nextStep } from './story.js';
import { setPlaying, reread, showPending, fresh, leader, nodeAt } from './app.js';

export let explorer = null;

// Does `f` on the model. A refusal shows why (nothing is recorded); acting
// in the past forks the run, and says so.
export function act(f) {
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
export function timeOut(id) {
  act(pg => pg.timeout(id));
  const n = state.pg.nodes()[id];
  if (n.alive && n.role === 'follower' && n.vote_guard_ms !== null) {
    const why = n.leader !== null ? `it heard from its leader S${n.leader + 1} less than a minimum election timeout ago`
      : 'it started less than a minimum election timeout ago and has heard no leader since';
    banner(`S${id + 1} does not time out yet: ${why}, so it holds back until ${(n.vote_guard_ms / 1000).toFixed(3)} s, and waits longer whenever the leader is heard again (the vote guard, thesis §4.2.3, an extension beyond the paper: the "paper" preset turns it off).`);
  }
}

export function target() {
  return state.selected !== null ? state.selected : leader();
}

// Buttons that cut one direction of a link from the selected node.
export function renderCuts() {
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

export function select(id) {
  state.selected = id !== null && id < state.nodes.length ? id : null;
  state.lastKv = 0;
  renderCuts();
  drawInspector();
  const box = $('inspect').getBoundingClientRect();
  if (state.selected !== null && (box.top < 0 || box.bottom > window.innerHeight)) {
    $('inspect').scrollIntoView({ block: 'nearest' });
  }
}

export function renderGroup() {
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

export function heal() {
  act(pg => pg.heal());
  state.group.clear();
  renderGroup();
}

export const keys = {
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
  l: () => { if (player.active) player.toggleView(); },
  z: () => explorer.undo(),
  '?': () => state.help.open(),
  Escape: () => select(null),
};

// The keys a recording answers to: it can be watched, not acted on.
export const RECORDING_KEYS = new Set([' ', '.', '+', '-', '?', 'Escape', 'l']);

export const ARROWS = { ArrowLeft: -1, ArrowRight: 1 };

export function bindControls() {
  bindRun();
  bindEvents();
  bindPanels();
  bindFiles();
  bindCanvas();
  bindKeys();
}

// Play, step, speed, new cluster, the network, the client, the faults.
export function bindRun() {
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
}

// The events list: filters, following the newest line, a click to go
// to a moment.
export function bindEvents() {
  // Event filters: a class on the list hides a category.
  for (const box of document.querySelectorAll('#filters input')) {
    box.addEventListener('change', () => $('events').classList.toggle(`hide-${box.dataset.category}`, !box.checked));
  }
  // The student scrolling up (wheel, keys, the scrollbar) stops the list
  // following; scrolling down to the end, it follows again. Scrolls the
  // page makes itself (following, trimming the top) change nothing, even
  // when their scroll event comes after a wheel up: the browser fires it
  // at the next frame, so it is told by the student's direction, not by
  // its moment alone.
  // A scroll is the student's if it comes within half a second of their
  // wheel, key or pointer on the list (or while they drag its scrollbar).
  const list = $('events');
  let dragging = false;
  let touched = -Infinity;
  let down = false;
  const byStudent = () => dragging || performance.now() - touched < 500;
  const gap = () => list.scrollHeight - list.scrollTop - list.clientHeight;
  const towards = (isDown, reachesEnd) => {
    touched = performance.now();
    down = isDown;
    if (!isDown) state.followEvents = false;
    else if (reachesEnd) state.followEvents = true;
  };
  list.addEventListener('wheel', e => {
    const px = e.deltaY * (e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? list.clientHeight : 1);
    if (px !== 0) towards(px > 0, px >= gap() - 8);
  });
  list.addEventListener('keydown', e => {
    if (['ArrowUp', 'PageUp', 'Home'].includes(e.key)) towards(false, false);
    if (['ArrowDown', 'PageDown', 'End'].includes(e.key)) towards(true, e.key === 'End');
  });
  list.addEventListener('pointerdown', () => { dragging = true; touched = performance.now(); });
  document.addEventListener('pointerup', () => { dragging = false; });
  list.addEventListener('scroll', () => {
    if (!byStudent()) return;
    // A long scroll goes on past half a second: each of its steps extends it.
    touched = performance.now();
    const atBottom = gap() <= 8;
    if (atBottom && (down || dragging)) state.followEvents = true;
    else if (dragging && !atBottom) state.followEvents = false;
  });
  // A click on an event goes to its moment and selects its node.
  $('events').addEventListener('click', e => {
    const li = e.target.closest('li');
    if (!li || li.dataset.timeMs === undefined) return;
    const node = li.dataset.node === undefined ? null : Number(li.dataset.node);
    seekTo(Number(li.dataset.timeMs), () => select(node));
  });
}

// The hunt, the grader, the presets and options, the scenario cards.
export function bindPanels() {
  $('hunt').addEventListener('click', startHunt);
  $('give-up').addEventListener('click', () => { if (state.hunt) reveal('You gave up.'); });
  $('hint-btn').addEventListener('click', nextHint);
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
}

// Export and import, recordings, files dropped on the page.
export function bindFiles() {
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
  $('next-problem').addEventListener('click', () => player.nextProblem());
  $('rec-view').addEventListener('click', () => player.toggleView());
  $('rec-legend').addEventListener('click', e => {
    const li = e.target.closest('li');
    if (li && li.dataset.type !== undefined) player.toggleType(li.dataset.type);
  });
  $('problems').addEventListener('click', e => {
    const li = e.target.closest('li');
    if (li && li.dataset.i !== undefined) player.goToProblem(Number(li.dataset.i));
  });
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
}

// The canvases: the lane, the ring, the logs, the timeline.
export function bindCanvas() {
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
  $('story').addEventListener('click', e => player.clickStrip(e.clientX - $('story').getBoundingClientRect().left));
  follow($('story'), x => (player.active ? player.tipStrip(x) : null));
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
}

// Explore mode's panel, and the keys.
export function bindKeys() {
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
