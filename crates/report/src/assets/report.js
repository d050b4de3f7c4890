// levfarm-report: a small SVG chart library for this page only. No dependencies, no requests.
(function () {
  "use strict";

  var D = JSON.parse(document.getElementById("data").textContent);
  var KIND = {
    deleverage: "#ea580c", stop_loss: "#dc2626", take_profit: "#15803d", top_up: "#0891b2",
    compound: "#0d9488", recenter: "#7c3aed", rebalance: "#9333ea", liquidation: "#7f1d1d",
    open: "#0f172a", close: "#475569"
  };
  var SMALL_KINDS = { compound: 1, rebalance: 1, recenter: 1 };
  // The position is strong blue; alternatives are lighter hues away from the action colours.
  var PALETTE = ["#1d4ed8", "#eab308", "#ec4899", "#94a3b8", "#10b981", "#06b6d4", "#a16207", "#84cc16"];
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  var DASH = "\u2013";
  var PNL_HEIGHT = 360;

  // ---- formatting -------------------------------------------------------------------------
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" }[c];
    });
  }
  function ok(v) { return v !== null && v !== undefined && isFinite(v); }
  function fmt(v, d) {
    if (!ok(v)) return DASH;
    var s = v.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
    return /^-0[.0]*$/.test(s) ? s.slice(1) : s;
  }
  function money(v) { return fmt(v, Math.abs(v) >= 1e6 ? 0 : 2); }
  function signed(v) { var s = money(v); return v > 0 && /[1-9]/.test(s) ? "+" + s : s; }
  function pct(v, d) { return ok(v) ? fmt(v * 100, d === undefined ? 1 : d) + "%" : DASH; }
  function price(v) { var a = Math.abs(v); return fmt(v, a >= 10 ? 2 : a >= 1 ? 4 : 6); }
  function decimalsFor(step) {
    var d = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
    return Math.abs(Math.round(step * Math.pow(10, d)) - step * Math.pow(10, d)) > 1e-6 ? d + 1 : d;
  }
  function compact(v, step) {
    var a = Math.max(Math.abs(v), step);
    if (a >= 1e9) return fmt(v / 1e9, decimalsFor(step / 1e9)) + "B";
    if (a >= 1e6) return fmt(v / 1e6, decimalsFor(step / 1e6)) + "M";
    return fmt(v, decimalsFor(step));
  }
  function pad2(n) { return n < 10 ? "0" + n : "" + n; }
  function dateStr(t, withTime) {
    var d = new Date(t * 1000);
    var s = d.getUTCFullYear() + "-" + pad2(d.getUTCMonth() + 1) + "-" + pad2(d.getUTCDate());
    return withTime ? s + " " + pad2(d.getUTCHours()) + ":" + pad2(d.getUTCMinutes()) + " UTC" : s;
  }
  function r1(x) { return Math.round(x * 10) / 10; }
  function textWidth(s) { return String(s).length * 6.6; }

  // ---- data ------------------------------------------------------------------------------
  function decode(s) {
    if (!s || !s.dt) return { name: s && s.name ? s.name : "", t: [], v: [] };
    var t = new Array(s.dt.length), acc = 0;
    for (var i = 0; i < s.dt.length; i++) { acc += s.dt[i]; t[i] = acc; }
    return { name: s.name, t: t, v: s.v };
  }
  function nearest(ts, t) {
    var lo = 0, hi = ts.length - 1;
    if (hi < 0) return -1;
    while (lo < hi) { var mid = (lo + hi) >> 1; if (ts[mid] < t) lo = mid + 1; else hi = mid; }
    return lo > 0 && t - ts[lo - 1] < ts[lo] - t ? lo - 1 : lo;
  }

  // ---- scales and ticks ------------------------------------------------------------------
  function niceStep(span, n) {
    var raw = span / Math.max(1, n), p = Math.pow(10, Math.floor(Math.log10(raw))), e = raw / p;
    return (e >= 7.5 ? 10 : e >= 3.5 ? 5 : e >= 1.5 ? 2 : 1) * p;
  }
  function linTicks(lo, hi, n) {
    var step = niceStep(hi - lo, n), out = [], first = Math.ceil(lo / step - 1e-9);
    if (!(step > 0 && isFinite(step) && isFinite(first))) return { ticks: [lo, hi], step: Math.abs(hi - lo) || 1 };
    for (var i = first; i * step <= hi + step * 1e-9 && out.length < 50; i++) out.push(Math.abs(i) < 1e-9 ? 0 : i * step);
    return { ticks: out, step: step };
  }
  function logTicks(lo, hi) {
    var decades = Math.log10(hi / lo);
    if (decades < 0.5) return linTicks(lo, hi, 5);
    var mults = decades <= 2.2 ? [1, 2, 5] : decades <= 4 ? [1, 3] : [1], out = [];
    for (var e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
      mults.forEach(function (m) { var v = m * Math.pow(10, e); if (v >= lo && v <= hi) out.push(v); });
    }
    return { ticks: out, step: Math.pow(10, Math.floor(Math.log10(lo))) };
  }
  var STEPS = [[1, "h"], [3, "h"], [6, "h"], [12, "h"], [1, "d"], [2, "d"], [7, "d"], [14, "d"],
    [1, "m"], [2, "m"], [3, "m"], [6, "m"], [1, "y"], [2, "y"], [5, "y"], [10, "y"], [50, "y"]];
  var UNIT = { h: 3600, d: 86400, m: 2629800, y: 31557600 };
  function timeTicks(t0, t1, maxN) {
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
          label: u === "h" && !midnight ? pad2(d.getUTCHours()) + ":00" : MONTHS[d.getUTCMonth()] + " " + d.getUTCDate() });
      }
    }
    if (out.length && !out.some(function (x) { return x.major; })) {
      out[0].label += " " + new Date(out[0].t * 1000).getUTCFullYear();
    }
    return out;
  }

  // ---- shared pieces ---------------------------------------------------------------------
  function empty(el, msg) {
    var W = Math.max(320, el.clientWidth || 800);
    el.innerHTML = "<svg width=\"" + W + "\" height=\"120\" viewBox=\"0 0 " + W + " 120\"><text class=\"empty\" x=\"" +
      W / 2 + "\" y=\"64\" text-anchor=\"middle\">" + esc(msg) + "</text></svg>";
  }
  function marker(m, x, y) {
    var c = KIND[m.kind] || "#64748b", title = "<title>" + esc(dateStr(m.t, true) + " \u00b7 " + m.kind + ": " + m.label) + "</title>";
    if (m.kind === "liquidation") {
      return "<path d=\"M" + r1(x) + " " + r1(y - 6.5) + "l6.5 6.5l-6.5 6.5l-6.5 -6.5z\" fill=\"" + c + "\" stroke=\"#fff\" stroke-width=\"1.5\">" + title + "</path>";
    }
    var r = SMALL_KINDS[m.kind] ? 2.75 : 4.5;
    return "<circle cx=\"" + r1(x) + "\" cy=\"" + r1(y) + "\" r=\"" + r + "\" fill=\"" + c + "\" stroke=\"#fff\" stroke-width=\"1.5\">" + title + "</circle>";
  }
  function legendHtml(cfg) {
    var h = "<div class=\"legend\">";
    cfg.series.forEach(function (s, i) {
      if (!s.t.length) return;
      var style = "border-top:" + (s.primary ? 3 : 2) + "px " + (s.dash ? "dashed " : "solid ") + s.color;
      h += "<span class=\"item" + (cfg.hidden[s.name] ? " off" : "") + (s.primary ? " primary" : "") + "\" data-i=\"" + i +
        "\" title=\"Show or hide\"><span class=\"sw\" style=\"" + style + "\"></span>" + esc(s.name) + "</span>";
    });
    var kinds = {};
    (cfg.markers || []).forEach(function (m) { kinds[m.kind] = (kinds[m.kind] || 0) + 1; });
    var names = Object.keys(kinds).sort();
    if (names.length) h += "<span class=\"sep\">|</span>";
    names.forEach(function (k) {
      h += "<span class=\"item static\"><span class=\"dot\" style=\"background:" + (KIND[k] || "#64748b") + "\"></span>" +
        esc(k.replace(/_/g, " ")) + " (" + kinds[k] + ")</span>";
    });
    (cfg.levels || []).forEach(function (l, i) {
      if (!i) h += "<span class=\"sep\">|</span>";
      h += "<span class=\"item static\"><span class=\"sw\" style=\"border-top:2px " + (l.dotted ? "dotted " : "dashed ") +
        l.color + "\"></span>" + esc(l.label) + "</span>";
    });
    if (cfg.logToggle) h += "<span class=\"tools\"><button type=\"button\" class=\"btn" + (cfg.log ? " on" : "") + "\">Log scale</button></span>";
    return h + "</div>";
  }
  function placeTip(el, tip, svg, px, py) {
    var sr = svg.getBoundingClientRect(), er = el.getBoundingClientRect();
    var left = sr.left - er.left + px + 16, top = sr.top - er.top + Math.max(8, py - 20);
    tip.style.display = "block";
    if (left + tip.offsetWidth > el.clientWidth) left = sr.left - er.left + px - 16 - tip.offsetWidth;
    tip.style.left = Math.max(0, left) + "px";
    tip.style.top = top + "px";
  }

  // ---- line chart ------------------------------------------------------------------------
  function drawLine(el, cfg) {
    var all = cfg.series.filter(function (s) { return s.t.length; });
    if (!all.length) return empty(el, "No data");
    var vis = all.filter(function (s) { return !cfg.hidden[s.name]; });
    var W = Math.max(320, el.clientWidth || 800), H = cfg.height, log = cfg.log;
    var t0 = Infinity, t1 = -Infinity, lo = Infinity, hi = -Infinity;
    all.forEach(function (s) { s.t.forEach(function (t) { if (t < t0) t0 = t; if (t > t1) t1 = t; }); });
    if (!(t1 > t0)) { t0 -= 3600; t1 += 3600; }
    function see(v) { if (ok(v) && (!log || v > 0)) { if (v < lo) lo = v; if (v > hi) hi = v; } }
    vis.forEach(function (s) { s.v.forEach(see); });
    (cfg.include || []).forEach(see);
    if (!(hi >= lo)) { lo = log ? 1 : 0; hi = log ? 10 : 1; }
    if (log) {
      if (hi / lo < 1.02) { lo /= 1.1; hi *= 1.1; }
      var g = Math.pow(hi / lo, 0.05); lo /= g; hi *= g;
    } else {
      var span = hi - lo || Math.abs(hi) || 1, bottom = cfg.floor !== undefined ? cfg.floor : -Infinity;
      lo = Math.max(bottom, lo - span * 0.05); hi += span * 0.05;
    }
    var tags = (cfg.levels || []).map(function (l) { return { value: l.value, color: l.color, text: pct(l.value) }; });
    var mt = 14, mb = 28, plotH = H - mt - mb;
    var mr = tags.length ? Math.ceil(Math.max.apply(null, tags.map(function (g) { return textWidth(g.text); })) + 20) : 18;
    var ticks = log ? logTicks(lo, hi) : linTicks(lo, hi, Math.max(3, Math.floor(plotH / 48)));
    var tickLabels = ticks.ticks.map(function (v) { return cfg.tick(v, ticks.step); });
    var ml = Math.ceil(Math.max.apply(null, tickLabels.map(textWidth).concat([24])) + 16);
    var x0 = ml, x1 = W - mr, y0 = mt, y1 = H - mb;
    function sx(t) { return x0 + (t - t0) / (t1 - t0) * (x1 - x0); }
    function sy(v) {
      if (!ok(v) || (log && v <= 0)) return null;
      return log ? y1 - (Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo)) * (y1 - y0)
        : y1 - (v - lo) / (hi - lo) * (y1 - y0);
    }
    var clip = "clip-" + el.id, p = [];
    p.push("<svg width=\"" + W + "\" height=\"" + H + "\" viewBox=\"0 0 " + W + " " + H + "\" role=\"img\">");
    p.push("<defs><clipPath id=\"" + clip + "\"><rect x=\"" + x0 + "\" y=\"" + y0 + "\" width=\"" + (x1 - x0) + "\" height=\"" + (y1 - y0) + "\"/></clipPath></defs>");
    ticks.ticks.forEach(function (v, i) {
      var y = r1(sy(v));
      p.push("<line x1=\"" + x0 + "\" x2=\"" + x1 + "\" y1=\"" + y + "\" y2=\"" + y + "\" stroke=\"#eef2f6\"/>");
      p.push("<text class=\"axis-label\" x=\"" + (x0 - 8) + "\" y=\"" + y + "\" dy=\"0.32em\" text-anchor=\"end\">" + esc(tickLabels[i]) + "</text>");
    });
    var tt = timeTicks(t0, t1, Math.max(2, Math.floor((x1 - x0) / 72)));
    tt.forEach(function (k) {
      var x = r1(sx(k.t)), anchor = x - x0 < 18 ? "start" : x1 - x < 18 ? "end" : "middle";
      p.push("<line x1=\"" + x + "\" x2=\"" + x + "\" y1=\"" + y0 + "\" y2=\"" + y1 + "\" stroke=\"" + (k.major ? "#e2e8f0" : "#f1f5f9") + "\"/>");
      p.push("<line x1=\"" + x + "\" x2=\"" + x + "\" y1=\"" + y1 + "\" y2=\"" + (y1 + 4) + "\" stroke=\"#94a3b8\"/>");
      p.push("<text class=\"axis-label" + (k.major ? " year" : "") + "\" x=\"" + x + "\" y=\"" + (y1 + 18) + "\" text-anchor=\"" + anchor + "\">" + esc(k.label) + "</text>");
    });
    (cfg.bands || []).forEach(function (b) {
      var ya = sy(Math.min(b.to, hi)), yb = sy(Math.max(b.from, lo));
      if (ya !== null && yb !== null && yb > ya) {
        p.push("<rect x=\"" + x0 + "\" y=\"" + r1(ya) + "\" width=\"" + (x1 - x0) + "\" height=\"" + r1(yb - ya) + "\" fill=\"" + b.fill + "\"/>");
      }
    });
    (cfg.bands || []).forEach(function (b) {
      var ya = sy(Math.min(b.to, hi)), yb = sy(Math.max(b.from, lo));
      if (b.label && ya !== null && yb !== null && yb - ya > 16) {
        p.push("<text class=\"band-label\" x=\"" + (x0 + 8) + "\" y=\"" + r1(ya + 13) + "\" style=\"fill:" + b.ink + "\">" + esc(b.label) + "</text>");
      }
    });
    (cfg.levels || []).forEach(function (l, i) {
      var y = sy(l.value);
      if (y === null || y < y0 - 0.5 || y > y1 + 0.5) { tags[i].y = null; return; }
      p.push("<line x1=\"" + x0 + "\" x2=\"" + x1 + "\" y1=\"" + r1(y) + "\" y2=\"" + r1(y) + "\" stroke=\"" + l.color + "\" stroke-width=\"1.4\" stroke-dasharray=\"" + l.dash + "\"/>");
      tags[i].y = y; tags[i].at = y;
    });
    tags = tags.filter(function (g) { return g.y !== null; }).sort(function (a, b) { return a.y - b.y; });
    for (var gi = 1; gi < tags.length; gi++) tags[gi].y = Math.max(tags[gi].y, tags[gi - 1].y + 17);
    var overflow = tags.length ? tags[tags.length - 1].y - (y1 - 8) : 0;
    tags.forEach(function (g) {
      if (overflow > 0) g.y -= overflow;
      var w = textWidth(g.text) + 10, x = x1 + 6;
      p.push("<path d=\"M" + x1 + " " + r1(g.at) + "L" + x + " " + r1(g.y) + "\" stroke=\"" + g.color + "\" fill=\"none\"/>");
      p.push("<rect x=\"" + x + "\" y=\"" + r1(g.y - 8) + "\" width=\"" + r1(w) + "\" height=\"16\" rx=\"3\" fill=\"" + g.color + "\"/>");
      p.push("<text class=\"tag\" x=\"" + r1(x + w / 2) + "\" y=\"" + r1(g.y) + "\" dy=\"0.34em\" text-anchor=\"middle\">" + esc(g.text) + "</text>");
    });
    vis.slice().sort(function (a, b) { return (a.primary ? 1 : 0) - (b.primary ? 1 : 0); }).forEach(function (s) {
      var d = "", pen = false;
      for (var i = 0; i < s.t.length; i++) {
        var y = sy(s.v[i]);
        if (y === null) { pen = false; continue; }
        d += (pen ? "L" : "M") + r1(sx(s.t[i])) + " " + r1(y);
        pen = true;
      }
      p.push("<path d=\"" + d + "\" fill=\"none\" stroke=\"" + s.color + "\" stroke-width=\"" + s.width + "\" stroke-linejoin=\"round\"" +
        (s.dash ? " stroke-dasharray=\"" + s.dash + "\"" : "") + " clip-path=\"url(#" + clip + ")\"/>");
    });
    p.push("<line x1=\"" + x0 + "\" x2=\"" + x1 + "\" y1=\"" + y1 + "\" y2=\"" + y1 + "\" stroke=\"#94a3b8\"/>");
    var placed = [];
    (cfg.markers || []).forEach(function (m) {
      var y = sy(m.y), x = sx(m.t);
      if (y === null || x < x0 - 1 || x > x1 + 1) return;
      placed.push({ m: m, x: x });
      p.push(marker(m, x, Math.min(Math.max(y, y0), y1)));
    });
    p.push("<line class=\"xh\" x1=\"0\" x2=\"0\" y1=\"" + y0 + "\" y2=\"" + y1 + "\" stroke=\"#334155\" stroke-dasharray=\"3 3\" visibility=\"hidden\"/>");
    vis.forEach(function (s, i) {
      p.push("<circle class=\"hd\" data-i=\"" + i + "\" r=\"4\" fill=\"" + s.color + "\" stroke=\"#fff\" stroke-width=\"1.5\" visibility=\"hidden\"/>");
    });
    p.push("<rect class=\"ov\" x=\"" + x0 + "\" y=\"" + y0 + "\" width=\"" + (x1 - x0) + "\" height=\"" + (y1 - y0) + "\" fill=\"transparent\"/>");
    p.push("</svg>");
    el.innerHTML = legendHtml(cfg) + p.join("") + "<div class=\"tip\"></div>";
    wireLegend(el, cfg);
    wireHover(el, cfg, vis, placed, sx, sy, t0, t1, x0, x1);
  }

  function wireLegend(el, cfg) {
    Array.prototype.forEach.call(el.querySelectorAll(".legend .item[data-i]"), function (node) {
      node.addEventListener("click", function () {
        var s = cfg.series[+node.getAttribute("data-i")];
        cfg.hidden[s.name] = !cfg.hidden[s.name];
        drawLine(el, cfg);
      });
    });
    var btn = el.querySelector(".legend .btn");
    if (btn) btn.addEventListener("click", function () { cfg.log = !cfg.log; drawLine(el, cfg); });
  }

  function wireHover(el, cfg, vis, placed, sx, sy, t0, t1, x0, x1) {
    var svg = el.querySelector("svg"), tip = el.querySelector(".tip"), xh = svg.querySelector(".xh");
    var dots = svg.querySelectorAll(".hd"), ov = svg.querySelector(".ov");
    function hide() {
      tip.style.display = "none"; xh.setAttribute("visibility", "hidden");
      Array.prototype.forEach.call(dots, function (c) { c.setAttribute("visibility", "hidden"); });
    }
    ov.addEventListener("pointerleave", hide);
    ov.addEventListener("pointermove", function (ev) {
      if (!vis.length) return;
      var r = svg.getBoundingClientRect(), px = (ev.clientX - r.left) * (svg.viewBox.baseVal.width / r.width);
      var ts = vis[0].t[nearest(vis[0].t, t0 + (px - x0) / (x1 - x0) * (t1 - t0))], x = r1(sx(ts));
      xh.setAttribute("x1", x); xh.setAttribute("x2", x); xh.setAttribute("visibility", "visible");
      var h = "<div class=\"t\">" + esc(dateStr(ts, true)) + "</div>", py = 40;
      vis.forEach(function (s, i) {
        var j = nearest(s.t, ts), v = s.v[j], y = sy(v), dot = dots[i];
        if (y !== null) {
          dot.setAttribute("cx", r1(sx(s.t[j]))); dot.setAttribute("cy", r1(y)); dot.setAttribute("visibility", "visible");
          if (i === 0) py = y;
        } else dot.setAttribute("visibility", "hidden");
        h += "<div class=\"r\"><span class=\"sw\" style=\"background:" + s.color + "\"></span><span class=\"n\">" + esc(s.name) +
          "</span><span class=\"v\">" + esc(cfg.fmt(v)) + "</span></div>";
      });
      var near = placed.filter(function (q) { return Math.abs(q.x - px) <= 7; });
      near.slice(0, 4).forEach(function (q) {
        h += "<div class=\"a\"><span style=\"color:" + (KIND[q.m.kind] || "#94a3b8") + "\">\u25cf</span> " + esc(q.m.kind.replace(/_/g, " ") + " \u00b7 " + dateStr(q.m.t, true) + ": " + q.m.label) + "</div>";
      });
      if (near.length > 4) h += "<div class=\"a\">+" + (near.length - 4) + " more</div>";
      tip.innerHTML = h;
      placeTip(el, tip, svg, px, py);
    });
  }

  // ---- PnL waterfall ---------------------------------------------------------------------
  function drawPnl(el) {
    var rows = [], cum = 0;
    (D.pnl || []).forEach(function (it) {
      if (!ok(it.value)) return;
      rows.push({ name: it.name, value: it.value, a: cum, b: cum + it.value });
      cum += it.value;
    });
    var total = ok(D.pnl_total) ? D.pnl_total : cum;
    if (!rows.length && !ok(D.pnl_total)) return empty(el, "No PnL decomposition");
    rows.push({ name: "Total", value: total, a: 0, b: total, total: true });
    var mt = 6, mb = 28, rowH = Math.max(24, Math.min(40, Math.floor((PNL_HEIGHT - mt - mb) / rows.length)));
    var W = Math.max(320, el.clientWidth || 800), H = mt + rows.length * rowH + mb;
    var lo = 0, hi = 0;
    rows.forEach(function (r) { lo = Math.min(lo, r.a, r.b); hi = Math.max(hi, r.a, r.b); });
    if (hi === lo) hi = lo + 1;
    var labelW = Math.min(W * 0.34, Math.max.apply(null, rows.map(function (r) { return textWidth(r.name) + 8; })) + 12);
    var valueW = Math.max.apply(null, rows.map(function (r) { return textWidth(signed(r.value)); })) + 12;
    var x0 = labelW + 8, x1 = W - valueW - 6, y1 = H - mb;
    var ticks = linTicks(lo, hi, Math.max(2, Math.floor((x1 - x0) / 70)));
    lo = Math.min(lo, ticks.ticks[0]); hi = Math.max(hi, ticks.ticks[ticks.ticks.length - 1]);
    function sx(v) { return x0 + (v - lo) / (hi - lo) * (x1 - x0); }
    var p = ["<svg width=\"" + W + "\" height=\"" + H + "\" viewBox=\"0 0 " + W + " " + H + "\" role=\"img\">"];
    ticks.ticks.forEach(function (v) {
      var x = r1(sx(v));
      p.push("<line x1=\"" + x + "\" x2=\"" + x + "\" y1=\"" + mt + "\" y2=\"" + y1 + "\" stroke=\"" + (v === 0 ? "#94a3b8" : "#eef2f6") + "\"/>");
      p.push("<text class=\"axis-label\" x=\"" + x + "\" y=\"" + (y1 + 18) + "\" text-anchor=\"middle\">" + esc(compact(v, ticks.step)) + "</text>");
    });
    var barH = Math.round(rowH * 0.62);
    rows.forEach(function (r, i) {
      var yc = mt + i * rowH + rowH / 2, xa = sx(Math.min(r.a, r.b)), xb = sx(Math.max(r.a, r.b));
      var w = Math.max(1.5, xb - xa), color = r.total ? (r.value < 0 ? "#991b1b" : "#1d4ed8") : r.value > 0 ? "#16a34a" : r.value < 0 ? "#dc2626" : "#94a3b8";
      if (r.total) p.push("<line x1=\"0\" x2=\"" + W + "\" y1=\"" + r1(yc - rowH / 2) + "\" y2=\"" + r1(yc - rowH / 2) + "\" stroke=\"#e2e8f0\"/>");
      p.push("<text class=\"row-label\" x=\"" + (labelW - 4) + "\" y=\"" + r1(yc) + "\" dy=\"0.32em\" text-anchor=\"end\"" +
        (r.total ? " style=\"font-weight:700\"" : "") + ">" + esc(r.name) + "</text>");
      p.push("<rect class=\"bar\" x=\"" + r1(xa) + "\" y=\"" + r1(yc - barH / 2) + "\" width=\"" + r1(w) + "\" height=\"" + barH +
        "\" rx=\"3\" fill=\"" + color + "\"><title>" + esc(r.name + ": " + signed(r.value)) + "</title></rect>");
      if (i + 1 < rows.length && !rows[i + 1].total) {
        var xc = r1(sx(r.b));
        p.push("<line x1=\"" + xc + "\" x2=\"" + xc + "\" y1=\"" + r1(yc + barH / 2) + "\" y2=\"" + r1(yc + rowH - barH / 2) + "\" stroke=\"#94a3b8\" stroke-dasharray=\"2 2\"/>");
      }
      // Negative values to the left of the bar and positive to the right, unless there is no
      // room there: then inside the bar if it is wide enough, else on the other side.
      var text = signed(r.value), tw = textWidth(text) + 4, left = r.value < 0, inside = false;
      if (left && xa - 6 - tw < x0) { if (w > tw + 12) inside = true; else left = false; }
      else if (!left && xa + w + 6 + tw > W) { if (w > tw + 12) inside = true; else left = true; }
      var tx = inside ? (r.value < 0 ? xa + 6 : xa + w - 6) : left ? xa - 6 : xa + w + 6;
      var anchor = inside ? (r.value < 0 ? "start" : "end") : left ? "end" : "start";
      p.push("<text class=\"bar-label" + (inside ? " in" : "") + "\" x=\"" + r1(tx) + "\" y=\"" + r1(yc) + "\" dy=\"0.32em\" text-anchor=\"" +
        anchor + "\"" + (r.total ? " style=\"font-weight:700\"" : "") + ">" + esc(text) + "</text>");
    });
    p.push("</svg>");
    el.innerHTML = p.join("");
  }

  // ---- the four charts -------------------------------------------------------------------
  function wide(s) {
    var lo = Infinity, hi = -Infinity;
    s.v.forEach(function (v) { if (ok(v) && v > 0) { lo = Math.min(lo, v); hi = Math.max(hi, v); } });
    return hi / lo > 8;
  }
  var actions = D.actions || [];
  var equity = (D.equity || []).map(function (s, i) {
    var x = decode(s);
    x.color = PALETTE[i % PALETTE.length]; x.width = i === 0 ? 2.4 : 1.4; x.primary = i === 0;
    return x;
  });
  var priceS = decode(D.price), lower = decode(D.liq_lower), upper = decode(D.liq_upper), debt = decode(D.debt);
  priceS.color = "#0f172a"; priceS.width = 1.5; priceS.primary = true;
  lower.color = "#dc2626"; lower.width = 1.4; lower.dash = "6 4";
  upper.color = "#ea580c"; upper.width = 1.4; upper.dash = "6 4";
  debt.color = "#1d4ed8"; debt.width = 1.8; debt.primary = true;
  function moneyTick(v, step) { return compact(v, step); }
  function pctTick(v, step) { return pct(v, decimalsFor(step * 100)); }
  function priceTick(v, step) { return compact(v, Math.min(step, Math.abs(v) || step)); }
  var levels = [], kill = D.kill, work = D.work;
  if (ok(kill)) levels.push({ value: kill, color: "#dc2626", dash: "7 4", label: "liquidation " + pct(kill) });
  if (ok(work)) levels.push({ value: work, color: "#64748b", dash: "3 3", dotted: true, label: "open limit " + pct(work) });
  (D.triggers || []).forEach(function (t) {
    if (ok(t.value)) levels.push({ value: t.value, color: "#d97706", dash: "2 3", dotted: true, label: t.name + " " + pct(t.value) });
  });
  var include = [0].concat(levels.map(function (l) { return l.value * 1.08; }));
  var charts = [
    { id: "chart-equity", draw: drawLine, cfg: { height: 360, series: equity, hidden: {}, log: false, logToggle: true,
      fmt: money, tick: moneyTick,
      markers: actions.filter(function (a) { return ok(a.equity); }).map(function (a) { return { t: a.t, y: a.equity, kind: a.kind, label: a.label }; }) } },
    { id: "chart-pnl", draw: drawPnl },
    { id: "chart-debt-ratio", draw: drawLine, cfg: { height: 330, series: [debt], hidden: {}, log: false, fmt: function (v) { return pct(v, 2); },
      tick: pctTick, include: include, floor: 0, levels: levels,
      bands: ok(kill) ? [{ from: kill, to: Infinity, fill: "rgba(220,38,38,0.08)", label: "liquidatable", ink: "#b91c1c" }] : [] } },
    { id: "chart-price", draw: drawLine, cfg: { height: 360, series: [priceS, lower, upper], hidden: {}, log: wide(priceS), logToggle: true,
      fmt: price, tick: priceTick,
      markers: actions.filter(function (a) { return ok(a.price); }).map(function (a) { return { t: a.t, y: a.price, kind: a.kind, label: a.label }; }) } }
  ];
  function drawAll() {
    var failed = 0;
    charts.forEach(function (c) {
      var el = document.getElementById(c.id);
      if (!el) return;
      try { c.draw(el, c.cfg); } catch (e) {
        failed++;
        empty(el, "This chart could not be drawn: " + e.message);
        setTimeout(function () { throw e; });
      }
    });
    return failed === 0;
  }
  if (drawAll()) document.body.setAttribute("data-ready", "1");
  var timer = null, lastW = window.innerWidth;
  window.addEventListener("resize", function () {
    if (window.innerWidth === lastW) return;
    lastW = window.innerWidth;
    clearTimeout(timer);
    timer = setTimeout(drawAll, 120);
  });
})();
