// The playground page in recording mode: a recorded run (recording.js)
// replayed on the page's own canvas, timeline, history lane and inspector,
// with the replicas' prints and the grader's events in the aside where the
// playground lists its events. app.js owns the frame loop and input.js the controls
// and hands them here while a recording is open; the body's `recording`
// class hides what only a simulated cluster has (logs, key-value, client,
// partition, options).
import { drawRecording, drawHistory, fillTypeLegend } from './draw.js';
import {
  FLIGHT_US, momentAt, laneAt, logUpTo, nextDatagram, describeDatagram, describeRequest,
  summaryOf, titleOf, typeOf, lowerBound, problemsOf, storyOf, pathOf,
} from './recording.js';
import { drawStrip, stripLayer, stripHeight, describeStripAt } from './strip.js';
import { drawLamport } from './lamport.js';

const $ = id => document.getElementById(id);
// The history lane shows this much recorded time up to the moment, ms.
const LANE_SPAN_MS = 400;
// Lines of prints and grader events kept in the list.
const LOG_SHOWN = 200;
// The arrow keys move this much recorded time, µs.
const ARROW_US = 10000;

export class Player {
  constructor() {
    this.rec = null;
    this.t = 0;
    this.playing = false;
    this.placed = [];
    this.bars = [];
    this.centres = [];
    this.radius = 0;
    this.selected = null;
    this.story = null;
    this.problems = [];
    this.problem = -1;
    this.strip = null;
    this.layer = null;
    this.stripKey = '';
    // Datagram types the student hid (a click on the legend).
    this.hidden = new Set();
    // What the canvas shows: the ring, or the space-time diagram.
    this.view = 'ring';
  }

  get active() { return this.rec !== null; }

  // Opens `rec` (parseRecording), with the wire's diagnoses of it
  // ([{t, what}], from the core's grader::diagnose).
  open(rec, name, diagnoses) {
    this.rec = rec;
    this.t = 0;
    this.selected = null;
    this.story = storyOf(rec);
    this.problems = problemsOf(rec, diagnoses);
    this.problem = -1;
    this.stripKey = '';
    this.setPlaying(false);
    document.body.classList.add('recording');
    $('rec-title').textContent = titleOf(rec);
    $('rec-summary').textContent = summaryOf(rec);
    $('timeline').max = String(rec.end);
    $('rec-marks').replaceChildren(...this.problems.map(p => {
      const m = document.createElement('span');
      m.className = p.kind === 'diagnosis' ? 'rec-mark seen' : 'rec-mark';
      m.style.left = `${(100 * p.t) / rec.end}%`;
      m.title = p.what;
      return m;
    }));
    $('story').style.height = `${stripHeight(rec.replicas.length)}px`;
    this.listProblems();
    $('next-problem').disabled = !this.problems.length;
    this.hidden = new Set();
    fillTypeLegend($('rec-legend'), rec.types);
    $('prints').replaceChildren();
    $('prints').dataset.key = '';
    this.inspect('click a datagram, a replica or a request', 'Its JSON shows here. Space plays, . steps to the next datagram, the arrows move 10 ms.');
    return `Opened ${name}: ${titleOf(rec)}. Press space to play.`;
  }

  close() {
    this.rec = null;
    this.playing = false;
    document.body.classList.remove('recording');
  }

  setPlaying(on) {
    this.playing = on && this.rec !== null;
    $('play').textContent = this.playing ? '❚❚ pause' : '▶ play';
  }

  togglePlay() { this.setPlaying(!this.playing); }

  seek(t) { this.t = Math.max(0, Math.min(this.rec.end, t)); }

  // To moment t, paused (the timeline, a line of the log, step, the jump).
  jumpTo(t) {
    this.seek(t);
    this.setPlaying(false);
  }

  // To the next datagram after the moment shown, of a type not hidden.
  step() {
    let t = nextDatagram(this.rec, this.t);
    for (let i = lowerBound(this.rec.datagrams, t); this.hidden.size && i < this.rec.datagrams.length; i++) {
      t = this.rec.datagrams[i].t;
      if (!this.hidden.has(typeOf(this.rec.datagrams[i]))) break;
      t = this.rec.end;
    }
    this.jumpTo(t);
  }

  // The ring, or the space-time diagram of the last 40 ms (`l`).
  toggleView() {
    this.view = this.view === 'ring' ? 'lamport' : 'ring';
    $('rec-view').textContent = this.view === 'ring' ? 'space-time' : 'ring';
  }

  // Shows or hides the datagrams of `type` on the ring (and for step).
  toggleType(type) {
    if (!this.hidden.delete(type)) this.hidden.add(type);
    for (const li of $('rec-legend').children) li.classList.toggle('off', this.hidden.has(li.dataset.type));
  }

  arrow(sign) { this.seek(this.t + sign * ARROW_US); }

  listProblems() {
    $('problems').replaceChildren(...(this.problems.length ? this.problems.map((p, i) => {
      const li = document.createElement('li');
      li.className = p.kind;
      li.dataset.i = String(i);
      li.textContent = `${(p.t / 1e6).toFixed(3)} ${p.what}`;
      return li;
    }) : [Object.assign(document.createElement('li'), { textContent: 'none: no red verdict, and nothing the wire shows' })]));
  }

  // To problem i: just before its moment, so its datagrams are seen
  // arriving; its sentence in the inspector.
  goToProblem(i) {
    const p = this.problems[i];
    if (!p) return;
    this.problem = i;
    this.jumpTo(Math.max(0, p.t - FLIGHT_US));
    const path = p.mid ? `\n\n${pathOf(this.rec, p.mid)}` : '';
    this.inspect(`problem ${i + 1} of ${this.problems.length} at ${(p.t / 1e6).toFixed(3)} s`, p.what + path);
    for (const li of $('problems').children) li.classList.toggle('current', li.dataset.i === String(i));
    $('problems').children[i].scrollIntoView({ block: 'nearest' });
  }

  // The first problem after the moment shown (after the one last gone to,
  // when several share a moment); after the last, the first again.
  nextProblem() {
    const after = this.problem >= 0 && this.t === Math.max(0, this.problems[this.problem].t - FLIGHT_US)
      ? this.problem + 1
      : this.problems.findIndex(p => Math.max(0, p.t - FLIGHT_US) > this.t);
    this.goToProblem(after >= 0 && after < this.problems.length ? after : 0);
  }

  // One frame: dtMs of wall time at `speed` recorded ms per wall ms.
  frame(dtMs, speed) {
    if (!this.playing) return;
    this.seek(this.t + dtMs * 1000 * speed);
    if (this.t >= this.rec.end) this.setPlaying(false);
  }

  draw() {
    const rec = this.rec;
    if (this.view === 'lamport') {
      this.placed = drawLamport($('cluster'), rec, this.t, this.hidden);
      this.centres = [];
    } else {
      const moment = momentAt(rec, this.t);
      if (this.hidden.size) moment.flying = moment.flying.filter(f => !this.hidden.has(f.type));
      const drawn = drawRecording($('cluster'), moment, this.selected);
      this.placed = drawn.placed;
      this.centres = drawn.centres;
      this.radius = drawn.radius;
    }
    const nowMs = this.t / 1000;
    this.bars = drawHistory($('lane'), laneAt(rec, this.t, LANE_SPAN_MS), nowMs, LANE_SPAN_MS);
    $('timeline').value = String(Math.round(this.t));
    $('now').textContent = `${(this.t / 1e6).toFixed(3)} s`;
    this.drawStrip();
    this.showLog();
  }

  // The strip, redrawn only when its cursor moves a pixel or its size
  // changes (a storm's thousands of stretches are not drawn every frame).
  drawStrip() {
    const canvas = $('story');
    const size = `${canvas.clientWidth}x${canvas.clientHeight}`;
    const key = `${size}:${Math.round((this.t / this.rec.end) * canvas.clientWidth)}`;
    if (key === this.stripKey) return;
    if (!this.stripKey.startsWith(`${size}:`)) {
      const marks = this.rec.faults.map(f => ({ t: f.t }));
      this.layer = stripLayer(canvas.clientWidth, canvas.clientHeight, this.story, this.rec.end, marks, this.problems);
    }
    this.stripKey = key;
    this.strip = drawStrip(canvas, this.layer, this.rec.end, this.t);
  }

  clickStrip(x) { if (this.strip) this.jumpTo(this.strip.timeAt(x)); }

  tipStrip(x) { return this.strip ? describeStripAt(this.story, this.strip.timeAt(x)) : null; }

  // The prints and grader events up to the moment, the latest last; only
  // rebuilt when the moment crosses a line.
  showLog() {
    const { upto, lines } = logUpTo(this.rec, this.t, LOG_SHOWN);
    const list = $('prints');
    if (list.dataset.key === String(upto)) return;
    list.dataset.key = String(upto);
    list.replaceChildren(...lines.map(l => {
      const li = document.createElement('li');
      li.className = l.cls;
      li.dataset.t = String(l.t);
      li.textContent = `${(l.t / 1e6).toFixed(3)} ${l.text}`;
      return li;
    }));
    list.scrollTop = list.scrollHeight;
  }

  inspect(title, body) {
    $('inspect-title').textContent = title;
    $('inspect-body').textContent = body;
  }

  datagramAt(x, y) {
    let best = null, dist = 10;
    for (const p of this.placed) {
      const d = Math.hypot(p.x - x, p.y - y);
      if (d < dist) { best = p.d; dist = d; }
    }
    return best;
  }

  replicaAt(x, y) {
    const i = this.centres.findIndex(c => Math.hypot(c.x - x, c.y - y) <= this.radius + 8);
    return i >= 0 ? this.rec.replicas[i] : null;
  }

  barAt(x, y) {
    return this.bars.find(b => x >= b.x0 - 2 && x <= b.x1 + 2 && y >= b.y0 && y <= b.y1) || null;
  }

  // A click on the ring: a datagram shows its JSON, a replica what it
  // last said of itself.
  clickRing(x, y) {
    const d = this.datagramAt(x, y);
    if (d) { this.inspect(`datagram: ${typeOf(d)}`, describeDatagram(d)); return; }
    const id = this.replicaAt(x, y);
    this.selected = id;
    if (id === null) return;
    const r = momentAt(this.rec, this.t).replicas.find(x_ => x_.id === id);
    const sent = lowerBound(this.rec.sends.get(id), this.t + 1);
    const printed = this.rec.prints.filter(p => p.replica === id && p.t <= this.t).length;
    this.inspect(`replica ${id}`, [
      `names as leader  ${r.leader === null ? '-' : r.leader}${r.claims ? ' (itself)' : ''}`,
      `term             ${r.term === null ? '- (its datagrams carry none)' : r.term}`,
      `sent             ${sent} datagrams so far`,
      `printed          ${printed} lines so far`,
    ].join('\n'));
  }

  clickLane(x, y) {
    const bar = this.barAt(x, y);
    if (bar) this.inspect(`request ${bar.op.mid}`, `${describeRequest(bar.op)}\n\n${pathOf(this.rec, bar.op.mid)}`);
  }

  // The tip for the pointer on the ring or the lane.
  tipRing(x, y) {
    const d = this.datagramAt(x, y);
    return d ? describeDatagram(d) : null;
  }

  tipLane(x, y) {
    const bar = this.barAt(x, y);
    return bar ? describeRequest(bar.op) : null;
  }

  // Hooks for tests and the benchmark.
  hooks() {
    return {
      state: () => ({ t: this.t, end: this.rec && this.rec.end, playing: this.playing }),
      placed: () => this.placed.map(p => ({ x: p.x, y: p.y, type: typeOf(p.d) })),
      bars: () => this.bars.map(b => ({ x: (b.x0 + b.x1) / 2, y: (b.y0 + b.y1) / 2, mid: b.op.mid, verdict: b.op.verdict })),
      leaders: () => momentAt(this.rec, this.t).leaders,
      view: () => this.view,
      story: () => this.story,
      problems: () => this.problems.map(p => ({ t: p.t, what: p.what, kind: p.kind })),
      // To moment t, drawn at once: what placed() and bars() return next
      // is that moment's, never the frame before the seek's (tests and
      // the benchmark read them straight after).
      seek: t => { this.seek(t); this.draw(); },
    };
  }
}
