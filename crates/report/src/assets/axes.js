// levfarm axes: nice steps for value axes, calendar ticks for time axes and UTC dates. One file
// for both users: the HTML reports inline it (with the `export` words taken off, in the page's
// own scope) and the service's dashboard imports it as an ES module. Written in the plainest
// JavaScript so that it runs the same either way: no dependencies, no requests.

export var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

export function pad2(n) { return n < 10 ? "0" + n : "" + n; }

// Unix seconds as "2020-03-12", or "2020-03-12 10:00 UTC" with the time.
export function dateStr(t, withTime) {
  var d = new Date(t * 1000);
  var s = d.getUTCFullYear() + "-" + pad2(d.getUTCMonth() + 1) + "-" + pad2(d.getUTCDate());
  return withTime ? s + " " + pad2(d.getUTCHours()) + ":" + pad2(d.getUTCMinutes()) + " UTC" : s;
}

// A 1, 2 or 5 times a power of ten near span / n.
export function niceStep(span, n) {
  var raw = span / Math.max(1, n), p = Math.pow(10, Math.floor(Math.log10(raw))), e = raw / p;
  return (e >= 7.5 ? 10 : e >= 3.5 ? 5 : e >= 1.5 ? 2 : 1) * p;
}

// About n ticks at multiples of a nice step between lo and hi, and the step.
export function linTicks(lo, hi, n) {
  var step = niceStep(hi - lo, n), out = [], first = Math.ceil(lo / step - 1e-9);
  if (!(step > 0 && isFinite(step) && isFinite(first))) return { ticks: [lo, hi], step: Math.abs(hi - lo) || 1 };
  for (var i = first; i * step <= hi + step * 1e-9 && out.length < 50; i++) out.push(Math.abs(i) < 1e-9 ? 0 : i * step);
  return { ticks: out, step: step };
}

// Ticks for a log axis: 1-2-5, 1-3 or 1 per decade as the range widens.
export function logTicks(lo, hi) {
  var decades = Math.log10(hi / lo);
  if (decades < 0.5) return linTicks(lo, hi, 5);
  var mults = decades <= 2.2 ? [1, 2, 5] : decades <= 4 ? [1, 3] : [1], out = [];
  for (var e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    mults.forEach(function (m) { var v = m * Math.pow(10, e); if (v >= lo && v <= hi) out.push(v); });
  }
  return { ticks: out, step: Math.pow(10, Math.floor(Math.log10(lo))) };
}

var STEPS = [[1, "min"], [5, "min"], [15, "min"], [30, "min"], [1, "h"], [3, "h"], [6, "h"],
  [12, "h"], [1, "d"], [2, "d"], [7, "d"], [14, "d"], [1, "m"], [2, "m"], [3, "m"], [6, "m"],
  [1, "y"], [2, "y"], [5, "y"], [10, "y"], [50, "y"]];
var UNIT = { min: 60, h: 3600, d: 86400, m: 2629800, y: 31557600 };

// At most maxN ticks between Unix seconds t0 and t1 on calendar boundaries (whole minutes,
// hours, days, the first of a month, New Year), each {t, major, label}: "10:30", "Mar 12",
// "Mar", "2020". Without a New Year among them, the first label carries the year.
export function timeTicks(t0, t1, maxN) {
  var st = STEPS[STEPS.length - 1], out = [];
  for (var i = 0; i < STEPS.length; i++) {
    if ((t1 - t0) / (STEPS[i][0] * UNIT[STEPS[i][1]]) <= maxN) { st = STEPS[i]; break; }
  }
  var n = st[0], u = st[1], d0 = new Date(t0 * 1000), t, k;
  if (!isFinite(d0.getTime()) || !isFinite(new Date(t1 * 1000).getTime())) return out;
  if (u === "y" || u === "m") {
    var per = u === "y" ? 12 * n : n;
    for (k = d0.getUTCFullYear() * 12 + d0.getUTCMonth(); ; k++) {
      if (k % per) continue;
      t = Date.UTC(Math.floor(k / 12), k % 12, 1) / 1000;
      if (!(t <= t1)) break;
      if (t >= t0) out.push({ t: t, major: k % 12 === 0, label: k % 12 === 0 ? "" + Math.floor(k / 12) : MONTHS[k % 12] });
    }
  } else {
    var unit = UNIT[u] * n;
    for (t = Math.ceil(t0 / unit) * unit; t <= t1; t += unit) {
      var d = new Date(t * 1000), midnight = t % 86400 === 0;
      out.push({ t: t, major: midnight && d.getUTCDate() === 1 && d.getUTCMonth() === 0,
        label: (u === "h" || u === "min") && !midnight ? pad2(d.getUTCHours()) + ":" + pad2(d.getUTCMinutes()) : MONTHS[d.getUTCMonth()] + " " + d.getUTCDate() });
    }
  }
  if (out.length && !out.some(function (x) { return x.major; })) {
    out[0].label += " " + new Date(out[0].t * 1000).getUTCFullYear();
  }
  return out;
}
