// The page's controls: the options form, the settings that change during a
// run, and the help dialog. Knows the DOM, not the model.

const $ = id => document.getElementById(id);

// The bounds the model enforces (playground::model::LATENCY_MS), shown in
// the inputs too.
export const LATENCY_MS = [1, 10000];

// Presets of the switches beyond the paper. They apply through "new
// cluster", as every option of the form does.
export const PRESETS = {
  course: {
    label: "course replica's defaults",
    options: { pre_vote: true, check_quorum: true, vote_guard: true, forward: true, probe: true, read_mode: 'lease', fanout: 'quorum', batch: 64 },
  },
  paper: {
    label: 'paper (Figure 2 alone)',
    // Reads go through the log (§8): each get is an entry of its own.
    options: { pre_vote: false, check_quorum: false, vote_guard: false, forward: false, probe: false, read_mode: 'log', fanout: 'all', batch: 1 },
  },
};

// The switches the form has no box for, as the preset (or a link) set them.
let extra = { ...PRESETS.course.options };

function presetOf(o) {
  const same = p => Object.entries(PRESETS[p].options).every(([k, v]) => o[k] === v);
  return Object.keys(PRESETS).find(same) || 'custom';
}

export function choosePreset(name) {
  if (!PRESETS[name]) return;
  extra = { ...PRESETS[name].options };
  $('prevote').checked = extra.pre_vote;
  $('checkquorum').checked = extra.check_quorum;
}

// After a box changed: which preset the form now matches.
export function showPreset() {
  $('preset').value = presetOf(readOptions());
}

// Options for a new cluster, from the form.
export function readOptions() {
  return {
    ...extra,
    nodes: Number($('nodes').value),
    seed: Math.max(0, Math.floor(Number($('seed').value) || 0)),
    latency_min_ms: Number($('lat-min').value),
    latency_max_ms: Number($('lat-max').value),
    drop_rate: Number($('drops').value) / 100,
    pre_vote: $('prevote').checked,
    check_quorum: $('checkquorum').checked,
  };
}

// The options a run was made with (for "new cluster" to start from).
export function showOptions(o) {
  $('nodes').value = String(o.nodes);
  $('seed').value = String(o.seed);
  $('prevote').checked = o.pre_vote;
  $('checkquorum').checked = o.check_quorum;
  for (const k of Object.keys(extra)) extra[k] = o[k];
  $('preset').value = presetOf(o);
}

// The settings in effect at the moment shown: drop rate, latency, load.
export function showSettings(s) {
  const pct = Math.round(s.drop_rate * 100);
  $('drops').value = String(pct);
  $('drops-out').textContent = `${pct}%`;
  if (document.activeElement !== $('lat-min')) $('lat-min').value = String(s.latency_min_ms);
  if (document.activeElement !== $('lat-max')) $('lat-max').value = String(s.latency_max_ms);
  $('auto').checked = s.auto;
}

// The hint's words for the cluster running: its size and its rules.
export function showCluster(o) {
  const words = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
  $('hint-nodes').textContent = `${words[o.nodes] || o.nodes}-node`;
  $('hint-rules').textContent = rulesOf(o);
}

// What the cluster runs beyond Figure 2, in a sentence.
export function rulesOf(o) {
  const beyond = [
    o.pre_vote && 'PreVote', o.check_quorum && 'CheckQuorum', o.vote_guard && 'the vote guard',
    o.read_mode === 'lease' && 'lease reads', o.read_mode === 'read_index' && 'ReadIndex reads',
    o.forward && 'Forward', o.probe && 'Probe',
  ].filter(Boolean);
  const named = 'each beyond the paper and each named in the events when it decides something';
  const preset = presetOf(o);
  if (preset === 'course') return `It runs the course replica's defaults: ${beyond.join(', ')}, ${named}; the "paper" preset is Figure 2 alone.`;
  if (!beyond.length) return 'It runs the paper\'s rules alone (Figure 2, reads through the log).';
  return `It runs Figure 2 with ${beyond.join(', ')}, ${named}.`;
}

// The help overlay as a modal dialog: it takes focus, pauses the run while
// open (`onOpen`/`onClose` decide how), and keys do not act behind it.
export class HelpDialog {
  constructor({ onOpen, onClose }) {
    this.el = $('help');
    this.onOpen = onOpen;
    this.onClose = onClose;
    this.returnTo = null;
    $('help-close').addEventListener('click', () => this.close());
    this.el.addEventListener('click', e => { if (e.target === this.el) this.close(); });
  }
  get isOpen() { return !this.el.hidden; }
  open() {
    if (this.isOpen) return;
    this.returnTo = document.activeElement;
    this.el.hidden = false;
    $('help-close').focus();
    this.onOpen();
  }
  close() {
    if (!this.isOpen) return;
    this.el.hidden = true;
    if (this.returnTo && this.returnTo.focus) this.returnTo.focus();
    this.onClose();
  }
  toggle() { this.isOpen ? this.close() : this.open(); }
  // Keys while open: Escape and ? close, Tab stays inside; nothing else.
  handleKey(e) {
    if (e.key === 'Escape' || e.key === '?') { e.preventDefault(); this.close(); return; }
    if (e.key === 'Tab') {
      const focusable = [...this.el.querySelectorAll('button, a[href], input')];
      const first = focusable[0], last = focusable[focusable.length - 1];
      if (e.shiftKey && document.activeElement === first) { e.preventDefault(); last.focus(); }
      else if (!e.shiftKey && document.activeElement === last) { e.preventDefault(); first.focus(); }
      return;
    }
    if (e.key !== 'Enter' && e.key !== ' ') e.preventDefault();
  }
}
