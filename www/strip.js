// The run's story over time, for a recording: a strip across the whole
// run with a row per replica (the role it claims in its own datagrams and
// its term, then its death) and a row on top for the cluster (no live
// replica claiming to lead, or two at once), the grader's faults as
// vertical lines, the problems as red ticks, two plots below (datagrams
// the replicas sent, requests answered ok, red requests), and the moment
// shown as a cursor. A click anywhere goes to that moment. The stretches
// are drawn once into a layer of their own; a frame copies it and draws
// the cursor. The stretches come from recording.js (storyOf); this module
// only draws and maps x to time.
import { fitCanvas } from './draw.js';

// Left margin for the row labels, px; each row's height, px.
const LABEL = 44;
const ROW = 11;
export const COLOURS = {
  leader: '#E69F00', follower: '#9fc5e8', none: '#f5b7b1', dead: '#5b6570',
  one: '#d9ead3', two: '#D55E00',
};

// The plots' rows: datagrams the replicas sent, and requests answered ok
// (green) or red (a wrong get, a duplicate, never answered: red, below).
const PLOT = 16;

// The strip's height for `n` replicas: the cluster's row, one per replica,
// the two plots, and room for the problem ticks.
export function stripHeight(n) {
  return (n + 1) * ROW + 2 * PLOT + 8;
}

// The strip's unchanging part, for a canvas of w x h CSS pixels: `story`
// (storyOf) of a run `end` µs long, the faults `marks` [{t}] and the
// `problems` [{t}], drawn once into a canvas of its own.
export function stripLayer(w, h, story, end, marks, problems) {
  const dpr = window.devicePixelRatio || 1;
  const layer = document.createElement('canvas');
  layer.width = Math.max(1, Math.round(w * dpr));
  layer.height = Math.max(1, Math.round(h * dpr));
  const ctx = layer.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  const x = xOf(w, end);
  ctx.font = '9px system-ui';
  ctx.textBaseline = 'middle';
  const rows = [{ id: 'leader', stretches: story.leaders }, ...story.rows];
  rows.forEach((row, i) => {
    const y = 2 + i * ROW;
    ctx.fillStyle = '#5b6570';
    ctx.textAlign = 'left';
    ctx.fillText(row.id, 2, y + ROW / 2);
    for (const s of row.stretches) {
      if (s.what === 'one') continue;
      const x0 = x(s.t0);
      ctx.fillStyle = COLOURS[s.what];
      ctx.fillRect(x0, y, Math.max(1, x(s.t1) - x0), ROW - 2);
    }
    // The terms over the stretches, where each changes and there is room.
    ctx.fillStyle = '#1b1f24';
    let lastTerm = null, termEnd = 0;
    for (const s of row.stretches) {
      const x0 = x(s.t0);
      if (s.term !== null && s.term !== lastTerm && x0 >= termEnd) {
        ctx.fillText(String(s.term), x0 + 1, y + ROW / 2);
        termEnd = x0 + ctx.measureText(String(s.term)).width + 3;
      }
      if (s.term !== null) lastTerm = s.term;
    }
  });
  drawPlots(ctx, story.rates, x, 2 + rows.length * ROW + 2);
  ctx.strokeStyle = '#1b1f24';
  ctx.lineWidth = 1;
  for (const m of marks) line(ctx, x(m.t), 0, h - 5);
  ctx.fillStyle = '#c0392b';
  for (const p of problems) ctx.fillRect(x(p.t) - 1, h - 5, 2, 5);
  return layer;
}

// Bars per bucket, each plot scaled to its own largest bucket by square
// root, so that a storm's spike leaves the quiet stretches visible (the
// label says the peak per second).
function drawPlots(ctx, rates, x, top) {
  const perSec = n => Math.round(n / (rates.span / 1e6));
  const plot = (y, series, colour, label, below) => {
    const peak = Math.max(1, ...series);
    ctx.fillStyle = '#5b6570';
    ctx.fillText(label, 2, y + PLOT / 2);
    ctx.fillStyle = colour;
    series.forEach((n, i) => {
      if (!n) return;
      const x0 = x(i * rates.span), bar = Math.max(1, Math.sqrt(n / peak) * (PLOT - 3));
      ctx.fillRect(x0, below ? y : y + PLOT - 2 - bar, Math.max(1, x((i + 1) * rates.span) - x0), bar);
    });
    return peak;
  };
  const sent = plot(top, rates.sent, '#8a939c', 'sent/s');
  const ok = plot(top + PLOT, rates.ok, '#009E73', 'ok/s');
  ctx.fillStyle = '#c0392b';
  const badPeak = Math.max(1, ...rates.bad);
  rates.bad.forEach((n, i) => {
    if (n) ctx.fillRect(x(i * rates.span), top + 2 * PLOT - 4, Math.max(1, x((i + 1) * rates.span) - x(i * rates.span)), Math.max(1, (n / badPeak) * 3));
  });
  ctx.fillStyle = '#5b6570';
  ctx.textAlign = 'right';
  ctx.fillText(`peak ${perSec(sent)}`, x(rates.span * rates.sent.length), top + 5);
  ctx.fillText(`peak ${perSec(ok)}`, x(rates.span * rates.ok.length), top + PLOT + 5);
  ctx.textAlign = 'left';
}

const xOf = (w, end) => t => LABEL + (t / end) * (w - LABEL - 2);

// The strip on `canvas`: its `layer` (stripLayer, for the canvas's size)
// and the moment `now` as a cursor. Returns the mapping of x to time for
// clicks.
export function drawStrip(canvas, layer, end, now) {
  const { ctx, w, h } = fitCanvas(canvas);
  ctx.drawImage(layer, 0, 0, w, h);
  ctx.strokeStyle = '#0072B2';
  ctx.lineWidth = 2;
  line(ctx, xOf(w, end)(now), 0, h);
  return { timeAt: px => Math.max(0, Math.min(end, ((px - LABEL) / (w - LABEL - 2)) * end)) };
}

function line(ctx, x, y0, y1) {
  ctx.beginPath();
  ctx.moveTo(Math.round(x) + 0.5, y0);
  ctx.lineTo(Math.round(x) + 0.5, y1);
  ctx.stroke();
}

// What the strip shows at time t, in words (the tip).
export function describeStripAt(story, t) {
  const at = list => list.find(s => s.t0 <= t && t < s.t1) || null;
  const cluster = at(story.leaders);
  const words = { none: 'no live replica claims to lead', one: 'one replica claims to lead', two: 'two or more replicas claim to lead at once' };
  const lines = [`${(t / 1e6).toFixed(3)} s: ${cluster ? words[cluster.what] : 'nothing sent yet'}`];
  for (const row of story.rows) {
    const s = at(row.stretches);
    const role = !s ? 'has sent nothing yet' : s.what === 'dead' ? 'killed'
      : s.what === 'leader' ? 'names itself leader' : s.what === 'none' ? 'names no leader' : 'names another leader';
    lines.push(`${row.id} ${role}${s && s.term !== null ? `, term ${s.term}` : ''}`);
  }
  const r = story.rates, i = Math.min(r.sent.length - 1, Math.floor(t / r.span));
  const perSec = n => Math.round(n / (r.span / 1e6));
  lines.push(`around here: the replicas sent ${perSec(r.sent[i])} datagrams/s, ${perSec(r.ok[i])} requests/s answered ok${r.bad[i] ? `, ${r.bad[i]} red (wrong, duplicate or never answered)` : ''}`);
  return lines.join('\n');
}
