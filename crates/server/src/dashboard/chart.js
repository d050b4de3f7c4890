// Charts on canvas, by hand: axes, lines, areas, horizontal rules and a tooltip. Floating
// point places points; the labels are the exact texts the caller gives.

import { $, el } from './dom.js';
import { timeTicks } from './axes.js';


export function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/**
 * Draws line series on `canvas`. spec: {series: [{points: [{x, y, label}], color, axis,
 * fill}], hlines: [{y, axis, color, label}], xLabel(x), empty}. Axis labels are the exact
 * labels of the points that reach the extremes, never values computed from floats.
 */
export function drawChart(canvas, spec) {
  const wrap = canvas.parentElement;
  const w = wrap.clientWidth;
  const h = wrap.clientHeight;
  if (!w || !h) return;
  const dpr = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const font = '11px ' + (cssVar('--sans') || 'sans-serif');
  const mono = '11px ' + (cssVar('--mono') || 'monospace');
  const muted = cssVar('--muted') || '#8b95a7';
  const grid = cssVar('--chart-grid') || '#222b39';
  const pad = { l: 10, r: 76, t: 14, b: 22 };
  const pw = w - pad.l - pad.r;
  const ph = h - pad.t - pad.b;
  canvas._chart = null;

  const all = spec.series.flatMap((s) => s.points);
  if (!all.length) {
    ctx.fillStyle = muted;
    ctx.font = font;
    ctx.textAlign = 'center';
    ctx.fillText(spec.empty || 'waiting for data…', w / 2, h / 2);
    return;
  }
  let x0 = Math.min(...all.map((p) => p.x));
  let x1 = Math.max(...all.map((p) => p.x));
  const xFirst = x0;
  const xLast = x1;
  if (x0 === x1) { x0 -= 1; x1 += 1; }
  const ranges = {};
  for (const axis of ['left', 'right']) {
    const pts = spec.series.filter((s) => s.axis === axis).flatMap((s) => s.points).filter((p) => Number.isFinite(p.y));
    const extra = (spec.hlines || []).filter((l) => l.axis === axis && l.inRange).map((l) => l.y);
    if (!pts.length) continue;
    let lo = Math.min(...pts.map((p) => p.y), ...extra);
    let hi = Math.max(...pts.map((p) => p.y), ...extra);
    const span = hi - lo || Math.abs(hi) * 0.02 || 1;
    lo -= span * 0.08;
    hi += span * 0.08;
    ranges[axis] = { lo, hi };
  }
  const X = (x) => pad.l + ((x - x0) / (x1 - x0)) * pw;
  const Y = (axis, y) => {
    const r = ranges[axis];
    return pad.t + (1 - (y - r.lo) / (r.hi - r.lo)) * ph;
  };

  // Grid.
  ctx.strokeStyle = grid;
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (let i = 0; i <= 4; i++) {
    const y = Math.round(pad.t + (ph * i) / 4) + 0.5;
    ctx.moveTo(pad.l, y);
    ctx.lineTo(pad.l + pw, y);
  }
  ctx.stroke();

  // Horizontal reference lines.
  for (const l of spec.hlines || []) {
    if (!ranges[l.axis]) continue;
    const y = Y(l.axis, l.y);
    if (y < pad.t || y > pad.t + ph) continue;
    ctx.save();
    ctx.strokeStyle = l.color;
    ctx.setLineDash([5, 4]);
    ctx.beginPath();
    ctx.moveTo(pad.l, Math.round(y) + 0.5);
    ctx.lineTo(pad.l + pw, Math.round(y) + 0.5);
    ctx.stroke();
    ctx.restore();
    if (l.label) {
      ctx.fillStyle = l.color;
      ctx.font = font;
      ctx.textAlign = 'left';
      ctx.fillText(l.label, pad.l + 4, y - 4);
    }
  }

  // Series.
  for (const s of spec.series) {
    const pts = s.points.filter((p) => Number.isFinite(p.y));
    if (!pts.length || !ranges[s.axis]) continue;
    if (s.fill) {
      const g = ctx.createLinearGradient(0, pad.t, 0, pad.t + ph);
      g.addColorStop(0, s.fill);
      g.addColorStop(1, 'rgba(0,0,0,0)');
      ctx.fillStyle = g;
      ctx.beginPath();
      ctx.moveTo(X(pts[0].x), pad.t + ph);
      for (const p of pts) ctx.lineTo(X(p.x), Y(s.axis, p.y));
      ctx.lineTo(X(pts[pts.length - 1].x), pad.t + ph);
      ctx.closePath();
      ctx.fill();
    }
    ctx.strokeStyle = s.color;
    ctx.lineWidth = 1.6;
    ctx.lineJoin = 'round';
    ctx.beginPath();
    pts.forEach((p, i) => (i ? ctx.lineTo(X(p.x), Y(s.axis, p.y)) : ctx.moveTo(X(p.x), Y(s.axis, p.y))));
    ctx.stroke();
    if (pts.length === 1) {
      ctx.fillStyle = s.color;
      ctx.beginPath();
      ctx.arc(X(pts[0].x), Y(s.axis, pts[0].y), 3, 0, Math.PI * 2);
      ctx.fill();
    }
  }

  // Axis labels: the extremes' and the last point's exact labels, at the right edge.
  const tags = [];
  for (const s of spec.series) {
    const pts = s.points.filter((p) => Number.isFinite(p.y));
    if (!pts.length || !ranges[s.axis]) continue;
    let hiP = pts[0];
    let loP = pts[0];
    for (const p of pts) { if (p.y > hiP.y) hiP = p; if (p.y < loP.y) loP = p; }
    const last = pts[pts.length - 1];
    tags.push({ y: Y(s.axis, last.y), text: last.label, color: s.color, solid: true });
    if (s.extremes !== false) {
      tags.push({ y: Y(s.axis, hiP.y), text: hiP.label, color: s.color });
      tags.push({ y: Y(s.axis, loP.y), text: loP.label, color: s.color });
    }
  }
  // Solid (last-value) tags win; the others only where they do not collide.
  tags.sort((a, b) => (b.solid ? 1 : 0) - (a.solid ? 1 : 0));
  const placed = [];
  ctx.font = mono;
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  for (const t of tags) {
    const y = Math.max(pad.t + 6, Math.min(pad.t + ph - 6, t.y));
    if (placed.some((p) => Math.abs(p - y) < 14)) continue;
    placed.push(y);
    const x = pad.l + pw + 4;
    if (t.solid) {
      const tw = ctx.measureText(t.text).width + 8;
      ctx.fillStyle = t.color;
      ctx.fillRect(x, y - 8, tw, 16);
      ctx.fillStyle = '#0b0f15';
      ctx.fillText(t.text, x + 4, y + 0.5);
    } else {
      ctx.globalAlpha = 0.8;
      ctx.fillStyle = t.color;
      ctx.fillText(t.text, x + 4, y + 0.5);
      ctx.globalAlpha = 1;
    }
  }
  ctx.textBaseline = 'alphabetic';

  // Time axis: calendar ticks (the reports' rule, from axes.js) with faint rules; a span
  // too short for a whole minute shows its first and last times instead.
  ctx.fillStyle = muted;
  ctx.font = font;
  const ticks = xLast > xFirst ? timeTicks(xFirst, xLast, Math.max(2, Math.floor(pw / 90))) : [];
  if (ticks.length) {
    ctx.save();
    ctx.strokeStyle = grid;
    ctx.globalAlpha = 0.6;
    ctx.beginPath();
    for (const t of ticks) {
      const x = Math.round(X(t.t)) + 0.5;
      ctx.moveTo(x, pad.t);
      ctx.lineTo(x, pad.t + ph);
    }
    ctx.stroke();
    ctx.restore();
    ctx.fillStyle = muted;
    ctx.textAlign = 'center';
    for (const t of ticks) {
      const x = Math.min(Math.max(X(t.t), pad.l + 24), pad.l + pw - 24);
      ctx.fillText(t.label, x, h - 6);
    }
  } else {
    ctx.textAlign = 'left';
    const span = xLast - xFirst;
    ctx.fillText(spec.xLabel(xFirst, span), pad.l, h - 6);
    if (xLast !== xFirst) {
      ctx.textAlign = 'right';
      ctx.fillText(spec.xLabel(xLast, span), pad.l + pw, h - 6);
    }
  }

  canvas._chart = { spec, X, Y, pad, pw, ph, w, h };
}

export function attachTooltip(canvas, redraw) {
  const tip = $('#chart-tip');
  canvas.addEventListener('mousemove', (ev) => {
    const c = canvas._chart;
    if (!c) { tip.hidden = true; return; }
    const rect = canvas.getBoundingClientRect();
    const mx = ev.clientX - rect.left;
    if (mx < c.pad.l || mx > c.pad.l + c.pw) { tip.hidden = true; redraw(); return; }
    // Nearest point of the first series by x; the other series' points at that x.
    const main = c.spec.series.find((s) => s.points.length);
    if (!main) return;
    let best = main.points[0];
    for (const p of main.points) if (Math.abs(c.X(p.x) - mx) < Math.abs(c.X(best.x) - mx)) best = p;
    redraw();
    const ctx = canvas.getContext('2d');
    const x = Math.round(c.X(best.x)) + 0.5;
    ctx.save();
    ctx.strokeStyle = cssVar('--line-2') || '#313c50';
    ctx.beginPath();
    ctx.moveTo(x, c.pad.t);
    ctx.lineTo(x, c.pad.t + c.ph);
    ctx.stroke();
    const rows = [el('div', { class: 't', text: `${c.spec.xLabel(best.x, 0)} UTC` })];
    for (const s of c.spec.series) {
      const idx = s.points.indexOf(best) >= 0 ? s.points.indexOf(best) : nearestIndex(s.points, best.x);
      const p = s.points[idx];
      if (!p) continue;
      if (Number.isFinite(p.y)) {
        ctx.fillStyle = s.color;
        ctx.beginPath();
        ctx.arc(c.X(p.x), c.Y(s.axis, p.y), 3, 0, Math.PI * 2);
        ctx.fill();
      }
      const key = el('i');
      key.style.background = s.color;
      rows.push(el('div', null, key, `${s.name}: `, el('b', { text: p.label })));
    }
    ctx.restore();
    tip.replaceChildren(...rows);
    tip.hidden = false;
    const tx = ev.clientX + 14;
    const ty = ev.clientY + 12;
    tip.style.left = `${Math.min(tx, window.innerWidth - tip.offsetWidth - 8)}px`;
    tip.style.top = `${Math.min(ty, window.innerHeight - tip.offsetHeight - 8)}px`;
  });
  canvas.addEventListener('mouseleave', () => { tip.hidden = true; redraw(); });
}

export function nearestIndex(points, x) {
  let best = -1;
  let d = Infinity;
  points.forEach((p, i) => {
    const dd = Math.abs(p.x - x);
    if (dd < d) { d = dd; best = i; }
  });
  return best;
}

