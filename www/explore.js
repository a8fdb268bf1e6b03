// Explore mode: time stands still and the student chooses every event
// (deliver, drop or copy a waiting message, fire a timer), with undo; and
// "show me how", which runs the explorer in a Web Worker to find a
// shortest run that breaks a check with a planted bug, then plays it here
// event by event. Owns the explore panel, the message menu and the search;
// the cluster and its views are the page's (through `hooks`).

const $ = id => document.getElementById(id);

// What a search may spend before it gives up: levels and distinct states.
const SEARCH_DEPTH = 9;
const SEARCH_STATES = 2_000_000;
// Wall time between two steps of a counterexample being played, ms.
const PLAY_STEP_MS = 1200;

const secs = ms => `${(ms / 1000).toFixed(3)} s`;

export class Explorer {
  // hooks: { pg(), act(f), restart(options) -> bool, options(), banner(text),
  //          setPlaying(on), bugs: [{name, rule}] }
  constructor(hooks) {
    this.hooks = hooks;
    this.worker = null;
    this.started = 0;
    // A counterexample being played: { steps, next, timer, bug }.
    this.playing = null;
    this.menuFor = null;
    // Shown without explore mode (a hunt offering "show me how").
    this.pinned = false;
    for (const b of hooks.bugs) $('how-bug').add(new Option(b.name, b.name));
    $('explore-btn').addEventListener('click', () => this.toggle());
    $('explore-undo').addEventListener('click', () => this.undo());
    $('explore-leave').addEventListener('click', () => this.toggle());
    $('how-run').addEventListener('click', () => this.showMeHow($('how-bug').value));
    $('how-cancel').addEventListener('click', () => this.cancel('Search cancelled.'));
    $('choices').addEventListener('click', e => {
      const b = e.target.closest('button');
      if (b && b.dataset.event) this.choose(JSON.parse(b.dataset.event));
    });
    $('msg-menu').addEventListener('click', e => {
      const b = e.target.closest('button');
      if (!b || !this.menuFor) return;
      const message = this.menuFor.held;
      this.closeMenu();
      if (b.dataset.kind !== 'close') this.choose({ event: b.dataset.kind, message });
    });
  }

  get active() {
    return this.hooks.pg().exploring();
  }

  // After a hunt: the panel open on "show me how" for the bug it planted.
  offer(bug) {
    this.pinned = true;
    $('how-bug').value = bug;
    this.render();
  }

  toggle() {
    const on = !this.active;
    this.pinned = false;
    this.stopPlaying();
    this.hooks.act(pg => pg.explore(on, undefined));
    if (on) this.hooks.setPlaying(false);
    this.render();
  }

  choose(event) {
    this.hooks.act(pg => pg.choose(event));
    this.render();
  }

  undo() {
    if (!this.active) return;
    this.stopPlaying();
    this.hooks.act(pg => { pg.undo(); return 0; });
    this.hooks.reread();
    this.render();
  }

  // A click on a waiting message delivers it.
  clickMessage(m) {
    this.closeMenu();
    this.choose({ event: 'deliver', message: m.held });
  }

  // A right click on a waiting message: deliver, drop or copy it.
  openMenu(m, x, y) {
    this.menuFor = m;
    const menu = $('msg-menu');
    $('msg-menu-title').textContent = `S${m.from + 1} → S${m.to + 1}: ${m.text}`;
    menu.style.left = `${x}px`;
    menu.style.top = `${y}px`;
    menu.hidden = false;
  }

  closeMenu() {
    this.menuFor = null;
    $('msg-menu').hidden = true;
  }

  // The panel: shown in explore mode, with the choices of the moment.
  render() {
    const on = this.active;
    const pg = this.hooks.pg();
    $('explore').hidden = !(on || this.worker || this.playing || this.pinned);
    $('explore-btn').classList.toggle('on', on);
    $('explore-btn').textContent = on ? 'leave explore' : 'explore';
    $('explore-now').textContent = on ? `Time stands still at ${secs(pg.nowMs())}.` : '';
    $('explore-undo').disabled = !on;
    $('explore-leave').hidden = !on;
    if (!on) { $('choices').replaceChildren(); return; }
    const items = pg.choices().map(c => {
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.dataset.event = JSON.stringify(c.event);
      b.dataset.kind = c.event.event;
      b.textContent = c.text;
      li.append(b);
      return li;
    });
    $('choices').replaceChildren(...items);
  }

  // ----- show me how ------------------------------------------------------

  showMeHow(bug) {
    this.cancel('');
    this.stopPlaying();
    const options = { ...this.hooks.options(), hunt: null };
    this.started = performance.now();
    this.lastProgress = null;
    this.worker = new Worker(new URL('./explore-worker.js', import.meta.url), { type: 'module' });
    this.worker.onmessage = ({ data }) => this.heard(bug, options, data);
    this.worker.onerror = e => this.cancel(`The search failed: ${e.message}`);
    this.worker.postMessage({ options, bug, depth: SEARCH_DEPTH, maxStates: SEARCH_STATES });
    $('how-cancel').hidden = false;
    $('how-run').disabled = true;
    $('how-progress').textContent = `Searching every run of a three-node cluster (one entry per AppendEntries) with ${bug} for a shortest one that breaks a check…`;
    this.render();
  }

  heard(bug, options, data) {
    const took = ((performance.now() - this.started) / 1000).toFixed(1);
    if (data.progress) {
      const p = data.progress;
      this.lastProgress = p;
      $('how-progress').textContent = `Searching (${bug}): every run of ${p.depth} events seen, ${p.states.toLocaleString('en')} states, ${took} s.`;
      return;
    }
    this.finish();
    if (data.error) return this.hooks.banner(`The search failed: ${data.error}`);
    if (!data.plan) {
      const p = this.lastProgress;
      const seen = p ? `every run of up to ${p.depth} events seen` : 'the first level not finished';
      $('how-progress').textContent = `No run within the page's bounds (${SEARCH_DEPTH} events, ${SEARCH_STATES.toLocaleString('en')} states; ${seen}, ${took} s) breaks a check with ${bug}: its catch needs a longer run. gradesim explore --bug ${bug} searches further, and the chaos seed the hunt names catches it.`;
      return;
    }
    const plan = data.plan;
    $('how-progress').textContent = `Found in ${took} s (${plan.states.toLocaleString('en')} states): ${plan.steps.length} events after the first election break ${plan.broken.check}.`;
    this.play(bug, { ...options, nodes: plan.nodes, batch: plan.batch }, plan);
  }

  finish() {
    if (this.worker) this.worker.terminate();
    this.worker = null;
    $('how-cancel').hidden = true;
    $('how-run').disabled = false;
  }

  cancel(why) {
    if (!this.worker) return;
    this.finish();
    $('how-progress').textContent = why;
    this.render();
  }

  // Plays a plan on a fresh cluster: the first election at once, then one
  // event every PLAY_STEP_MS, each said in words.
  play(bug, options, plan) {
    const hunt = this.hooks.bugs.findIndex(b => b.name === bug);
    if (!this.hooks.restart({ ...options, hunt })) return;
    const pg = this.hooks.pg();
    this.hooks.act(p => p.explore(true, plan.link_capacity ?? undefined));
    this.hooks.act(p => { for (const event of plan.prelude) p.choose(event); return 0; });
    const list = plan.steps.map((s, i) => {
      const li = document.createElement('li');
      li.textContent = s.what;
      li.dataset.step = String(i);
      return li;
    });
    $('how-steps').replaceChildren(...list);
    this.playing = { steps: plan.steps, next: 0, bug, timer: null, pg };
    this.render();
    this.playNext();
  }

  playNext() {
    const p = this.playing;
    if (!p || this.hooks.pg() !== p.pg) return this.stopPlaying();
    const step = p.steps[p.next];
    this.hooks.act(pg => pg.choose(step.event));
    for (const li of $('how-steps').children) li.classList.toggle('now', Number(li.dataset.step) === p.next);
    this.hooks.banner(`Step ${p.next + 1} of ${p.steps.length}: ${step.what}.`);
    p.next += 1;
    this.render();
    if (p.next < p.steps.length) p.timer = setTimeout(() => this.playNext(), PLAY_STEP_MS);
    else this.playing = null;
  }

  stopPlaying() {
    if (this.playing && this.playing.timer) clearTimeout(this.playing.timer);
    this.playing = null;
  }
}
