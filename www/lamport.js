// A recording as a space-time (Lamport) diagram around the moment shown:
// a lane per replica and one for the clients, time running down over the
// last WINDOW_US up to the moment; each datagram an arrow from its
// sender's lane at the moment it left to its receiver's, in its type's
// colour, lost ones stopping halfway with an x; a kill a cross on its
// lane. A recording holds when a datagram left, not when it arrived (the
// router forwards at once), so every arrow takes the same short slant.
// Only draws; player.js owns the moment and the clicks.
import { fitCanvas, typeColour } from './draw.js';
import { typeOf, lowerBound } from './recording.js';

// The recorded time shown, µs, and an arrow's slant as a share of it.
export const WINDOW_US = 40000;
const SLANT = 0.03;

// Draws the diagram of `rec` up to moment `t`, leaving out the `hidden`
// types; returns the arrows' midpoints for clicks and tips: [{x, y, d}].
export function drawLamport(canvas, rec, t, hidden) {
  const { ctx, w, h } = fitCanvas(canvas);
  const lanes = [...rec.replicas, 'clients'];
  const top = 28, bottom = h - 10, left = 52;
  const laneX = i => left + ((i + 0.5) * (w - left - 8)) / lanes.length;
  const t0 = t - WINDOW_US;
  const y = u => top + ((u - t0) / WINDOW_US) * (bottom - top);
  drawLanes(ctx, lanes, laneX, top, bottom);
  drawTicks(ctx, t0, t, y, w);
  const laneOf = id => {
    const i = rec.replicas.indexOf(id);
    return i >= 0 ? i : lanes.length - 1;
  };
  for (const f of rec.faults) {
    if (f.t < t0 || f.t > t) continue;
    for (const id of f.killed || []) cross(ctx, laneX(laneOf(id)), y(f.t));
  }
  const placed = [];
  const slant = SLANT * WINDOW_US;
  const end = lowerBound(rec.datagrams, t + 1);
  for (let i = lowerBound(rec.datagrams, t0 - slant); i < end; i++) {
    const d = rec.datagrams[i];
    const type = typeOf(d);
    if (hidden.has(type)) continue;
    const from = { x: laneX(laneOf(d.src)), y: y(d.t) };
    const to = { x: laneX(laneOf(d.dst)), y: y(Math.min(t, d.t + slant)) };
    placed.push(arrow(ctx, from, to, typeColour(type), d.fate !== 'delivered', d));
  }
  ctx.strokeStyle = '#0072B2';
  ctx.lineWidth = 2;
  ctx.beginPath(); ctx.moveTo(left - 6, bottom); ctx.lineTo(w - 4, bottom); ctx.stroke();
  return placed;
}

function drawLanes(ctx, lanes, laneX, top, bottom) {
  ctx.font = 'bold 11px system-ui';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  lanes.forEach((id, i) => {
    ctx.fillStyle = '#1b1f24';
    ctx.fillText(id, laneX(i), 12);
    ctx.strokeStyle = '#c8cdd2';
    ctx.lineWidth = 1;
    ctx.beginPath(); ctx.moveTo(laneX(i), top - 6); ctx.lineTo(laneX(i), bottom); ctx.stroke();
  });
}

// A time mark every 10 ms on the left, with the moment's seconds.
function drawTicks(ctx, t0, t, y, w) {
  ctx.font = '10px system-ui';
  ctx.textAlign = 'right';
  ctx.fillStyle = '#5b6570';
  ctx.strokeStyle = '#eef0f2';
  ctx.lineWidth = 1;
  for (let u = Math.ceil(t0 / 10000) * 10000; u <= t; u += 10000) {
    if (u < 0) continue;
    ctx.fillText(`${(u / 1e6).toFixed(2)} s`, 46, y(u));
    ctx.beginPath(); ctx.moveTo(50, y(u)); ctx.lineTo(w - 4, y(u)); ctx.stroke();
  }
}

// One datagram: a line with a head where it arrived, or half a line and an
// x where it was lost. Returns its midpoint, for clicks.
function arrow(ctx, from, to, colour, lost, d) {
  const k = lost ? 0.5 : 1;
  const x1 = from.x + (to.x - from.x) * k, y1 = from.y + (to.y - from.y) * k;
  ctx.strokeStyle = colour;
  ctx.fillStyle = colour;
  ctx.lineWidth = 1.5;
  ctx.beginPath(); ctx.moveTo(from.x, from.y); ctx.lineTo(x1, y1); ctx.stroke();
  if (lost) {
    ctx.beginPath();
    ctx.moveTo(x1 - 4, y1 - 4); ctx.lineTo(x1 + 4, y1 + 4);
    ctx.moveTo(x1 + 4, y1 - 4); ctx.lineTo(x1 - 4, y1 + 4);
    ctx.stroke();
  } else {
    const a = Math.atan2(to.y - from.y, to.x - from.x);
    ctx.beginPath();
    ctx.moveTo(x1, y1);
    ctx.lineTo(x1 - 7 * Math.cos(a - 0.4), y1 - 7 * Math.sin(a - 0.4));
    ctx.lineTo(x1 - 7 * Math.cos(a + 0.4), y1 - 7 * Math.sin(a + 0.4));
    ctx.fill();
  }
  return { x: (from.x + x1) / 2, y: (from.y + y1) / 2, d };
}

function cross(ctx, x, y) {
  ctx.strokeStyle = '#c0392b';
  ctx.lineWidth = 3;
  ctx.beginPath();
  ctx.moveTo(x - 7, y - 7); ctx.lineTo(x + 7, y + 7);
  ctx.moveTo(x + 7, y - 7); ctx.lineTo(x - 7, y + 7);
  ctx.stroke();
}
