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
  // Horizontal grid lines with their labels, left of the plot.
  function yGrid(p, values, labels, sy, x0, x1) {
    values.forEach(function (v, i) {
      var y = r1(sy(v));
      p.push("<line x1=\"" + x0 + "\" x2=\"" + x1 + "\" y1=\"" + y + "\" y2=\"" + y + "\" stroke=\"#eef2f6\"/>");
      p.push("<text class=\"axis-label\" x=\"" + (x0 - 8) + "\" y=\"" + y + "\" dy=\"0.32em\" text-anchor=\"end\">" + esc(labels[i]) + "</text>");
    });
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
    yGrid(p, ticks.ticks, tickLabels, sy, x0, x1);
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

  // ---- numeric x-y chart (risk page) -----------------------------------------------------
  // cfg: height, xFmt/yFmt (tooltip), xTick/yTick (axes), xTitle, floor/ceil (y clamps), xPad,
  // legend (static items), levels ([{value, color, dash, label}]) and series: [{name, color, x,
  // y, lo, hi, band, edge, err, dots, width, dash, fill}]. A band fills between lo and hi (and
  // with edge, outlines it); err draws lo-hi error bars. Non-finite points are skipped.
  function pctTick(v, step) { return pct(v, decimalsFor(step * 100)); }
  function legendStatic(items) {
    if (!items || !items.length) return "";
    var h = "<div class=\"legend\">";
    items.forEach(function (it) {
      var sw = it.style === "box" ? "<span class=\"box\" style=\"background:" + it.color + "\"></span>"
        : it.style === "err" ? "<span class=\"errsw\" style=\"color:" + it.color + "\"></span>"
        : it.style === "sep" || it.style === "text" ? "" : "<span class=\"sw\" style=\"border-top:2px " + (it.style === "dash" ? "dashed " : "solid ") + it.color + "\"></span>";
      h += it.style === "sep" ? "<span class=\"sep\">|</span>" : "<span class=\"item static" + (it.strong ? " primary" : "") + "\">" + sw + esc(it.label) + "</span>";
    });
    return h + "</div>";
  }
  function drawXY(el, cfg) {
    var series = cfg.series || [], xs = [], lo = Infinity, hi = -Infinity, xlo = Infinity, xhi = -Infinity;
    function val(s, k, i) { return s[k] && ok(s[k][i]) ? s[k][i] : null; }
    series.forEach(function (s) {
      s.x.forEach(function (x, i) {
        if (!ok(x)) return;
        var any = false;
        ["y", "lo", "hi"].forEach(function (k) {
          var v = val(s, k, i);
          if (v !== null) { any = true; lo = Math.min(lo, v); hi = Math.max(hi, v); }
        });
        if (any) { xs.push(x); xlo = Math.min(xlo, x); xhi = Math.max(xhi, x); }
      });
    });
    if (!xs.length) return empty(el, cfg.emptyText || "No data");
    (cfg.levels || []).forEach(function (l) { if (ok(l.value)) { lo = Math.min(lo, l.value); hi = Math.max(hi, l.value); } });
    xs.sort(function (a, b) { return a - b; });
    xs = xs.filter(function (x, i) { return !i || x !== xs[i - 1]; });
    if (xhi === xlo) { xlo -= cfg.xPad1 || 0.5; xhi += cfg.xPad1 || 0.5; }
    else { var xp = (xhi - xlo) * (cfg.xPad || 0); xlo -= xp; xhi += xp; }
    var span = hi - lo || Math.abs(hi) || 1;
    lo = Math.max(cfg.floor !== undefined ? cfg.floor : -Infinity, lo - span * 0.05);
    hi = Math.min(cfg.ceil !== undefined ? cfg.ceil : Infinity, hi + span * 0.06);
    if (!(hi > lo)) hi = lo + 1;
    var W = Math.max(320, el.clientWidth || 800), H = cfg.height, mt = 14, mb = cfg.xTitle ? 46 : 28;
    var ticks = linTicks(lo, hi, Math.max(3, Math.floor((H - mt - mb) / 48)));
    var tickLabels = ticks.ticks.map(function (v) { return cfg.yTick(v, ticks.step); });
    var ml = Math.ceil(Math.max.apply(null, tickLabels.map(textWidth).concat([24])) + 16);
    var x0 = ml, x1 = W - 18, y0 = mt, y1 = H - mb;
    function sx(x) { return x0 + (x - xlo) / (xhi - xlo) * (x1 - x0); }
    function sy(v) { return ok(v) ? y1 - (v - lo) / (hi - lo) * (y1 - y0) : null; }
    var clip = "clip-" + el.id, p = [];
    p.push("<svg width=\"" + W + "\" height=\"" + H + "\" viewBox=\"0 0 " + W + " " + H + "\" role=\"img\">");
    p.push("<defs><clipPath id=\"" + clip + "\"><rect x=\"" + x0 + "\" y=\"" + (y0 - 4) + "\" width=\"" + (x1 - x0) + "\" height=\"" + (y1 - y0 + 8) + "\"/></clipPath></defs>");
    yGrid(p, ticks.ticks, tickLabels, sy, x0, x1);
    var xt = linTicks(xlo, xhi, Math.max(2, Math.floor((x1 - x0) / 80)));
    xt.ticks.forEach(function (v) {
      var x = r1(sx(v));
      p.push("<line x1=\"" + x + "\" x2=\"" + x + "\" y1=\"" + y0 + "\" y2=\"" + y1 + "\" stroke=\"#f1f5f9\"/>");
      p.push("<line x1=\"" + x + "\" x2=\"" + x + "\" y1=\"" + y1 + "\" y2=\"" + (y1 + 4) + "\" stroke=\"#94a3b8\"/>");
      p.push("<text class=\"axis-label\" x=\"" + x + "\" y=\"" + (y1 + 18) + "\" text-anchor=\"middle\">" + esc(cfg.xTick(v, xt.step)) + "</text>");
    });
    if (cfg.xTitle) p.push("<text class=\"x-title\" x=\"" + r1((x0 + x1) / 2) + "\" y=\"" + (H - 6) + "\" text-anchor=\"middle\">" + esc(cfg.xTitle) + "</text>");
    series.forEach(function (s) {
      if (!s.band) return;
      var seg = [];
      function flush() {
        if (seg.length > 1) {
          var d = seg.map(function (i, k) { return (k ? "L" : "M") + r1(sx(s.x[i])) + " " + r1(sy(s.hi[i])); }).join("");
          d += seg.slice().reverse().map(function (i) { return "L" + r1(sx(s.x[i])) + " " + r1(sy(s.lo[i])); }).join("") + "Z";
          p.push("<path class=\"band\" d=\"" + d + "\" fill=\"" + s.fill + "\"" + (s.edge ? " stroke=\"" + s.color +
            "\" stroke-opacity=\"0.45\" stroke-width=\"1\" stroke-dasharray=\"1 2\"" : "") + " clip-path=\"url(#" + clip + ")\"/>");
        }
        seg = [];
      }
      s.x.forEach(function (x, i) { if (ok(x) && val(s, "lo", i) !== null && val(s, "hi", i) !== null) seg.push(i); else flush(); });
      flush();
    });
    (cfg.levels || []).forEach(function (l) {
      var y = sy(l.value);
      if (y === null || y < y0 - 0.5 || y > y1 + 0.5) return;
      p.push("<line class=\"level\" x1=\"" + x0 + "\" x2=\"" + x1 + "\" y1=\"" + r1(y) + "\" y2=\"" + r1(y) + "\" stroke=\"" + l.color + "\" stroke-width=\"1.3\"" +
        (l.dash ? " stroke-dasharray=\"" + l.dash + "\"" : "") + "/>");
      if (l.label) p.push("<text class=\"ref-label\" x=\"" + (x1 - 4) + "\" y=\"" + r1(y - 5) + "\" text-anchor=\"end\" style=\"fill:" + l.color + "\">" + esc(l.label) + "</text>");
    });
    series.forEach(function (s) {
      if (!s.err) return;
      s.x.forEach(function (x, i) {
        var a = val(s, "lo", i), b = val(s, "hi", i);
        if (!ok(x) || a === null || b === null) return;
        var cx = r1(sx(x)), ya = r1(sy(a)), yb = r1(sy(b));
        p.push("<path class=\"err\" d=\"M" + cx + " " + ya + "V" + yb + "M" + (cx - 4) + " " + ya + "h8M" + (cx - 4) + " " + yb + "h8\" stroke=\"" + s.color + "\" stroke-width=\"1.4\" fill=\"none\" opacity=\"0.7\"/>");
      });
    });
    series.forEach(function (s) {
      if (!s.y) return;
      var d = "", pen = false;
      s.x.forEach(function (x, i) {
        var y = val(s, "y", i);
        if (!ok(x) || y === null) { pen = false; return; }
        d += (pen ? "L" : "M") + r1(sx(x)) + " " + r1(sy(y));
        pen = true;
      });
      if (d && !s.noLine) {
        p.push("<path class=\"line\" d=\"" + d + "\" fill=\"none\" stroke=\"" + s.color + "\" stroke-width=\"" + (s.width || 2) + "\" stroke-linejoin=\"round\"" +
          (s.dash ? " stroke-dasharray=\"" + s.dash + "\"" : "") + " clip-path=\"url(#" + clip + ")\"/>");
      }
      if (s.dots) {
        s.x.forEach(function (x, i) {
          var y = val(s, "y", i);
          if (ok(x) && y !== null) p.push("<circle class=\"pt\" cx=\"" + r1(sx(x)) + "\" cy=\"" + r1(sy(y)) + "\" r=\"" + (s.dash ? 3 : 3.8) + "\" fill=\"" + (s.dash ? "#fff" : s.color) + "\" stroke=\"" + (s.dash ? s.color : "#fff") + "\" stroke-width=\"1.5\"/>");
        });
      }
    });
    p.push("<line x1=\"" + x0 + "\" x2=\"" + x1 + "\" y1=\"" + y1 + "\" y2=\"" + y1 + "\" stroke=\"#94a3b8\"/>");
    p.push("<line class=\"xh\" x1=\"0\" x2=\"0\" y1=\"" + y0 + "\" y2=\"" + y1 + "\" stroke=\"#334155\" stroke-dasharray=\"3 3\" visibility=\"hidden\"/>");
    p.push("<rect class=\"ov\" x=\"" + x0 + "\" y=\"" + y0 + "\" width=\"" + (x1 - x0) + "\" height=\"" + (y1 - y0) + "\" fill=\"transparent\"/>");
    p.push("</svg>");
    el.innerHTML = legendStatic(cfg.legend) + p.join("") + "<div class=\"tip\"></div>";
    var svg = el.querySelector("svg"), tip = el.querySelector(".tip"), xh = svg.querySelector(".xh"), ov = svg.querySelector(".ov");
    ov.addEventListener("pointerleave", function () { tip.style.display = "none"; xh.setAttribute("visibility", "hidden"); });
    ov.addEventListener("pointermove", function (ev) {
      var r = svg.getBoundingClientRect(), px = (ev.clientX - r.left) * (svg.viewBox.baseVal.width / r.width);
      var xv = xlo + (px - x0) / (x1 - x0) * (xhi - xlo), best = xs[0];
      xs.forEach(function (x) { if (Math.abs(x - xv) < Math.abs(best - xv)) best = x; });
      var bx = r1(sx(best)), py = null, h = "<div class=\"t\">" + esc(cfg.xFmt(best)) + "</div>";
      xh.setAttribute("x1", bx); xh.setAttribute("x2", bx); xh.setAttribute("visibility", "visible");
      series.forEach(function (s) {
        var i = s.x.indexOf(best), a = val(s, "lo", i), b = val(s, "hi", i), y = val(s, "y", i), text;
        if (i < 0 || s.noTip) return;
        if (s.band) {
          if (a === null || b === null) return;
          text = cfg.yFmt(a) + " \u2013 " + cfg.yFmt(b);
        } else {
          if (y === null) return;
          text = cfg.yFmt(y) + (s.err && a !== null && b !== null ? " (" + cfg.yFmt(a) + " \u2013 " + cfg.yFmt(b) + ")" : "");
          if (py === null) py = sy(y);
        }
        h += "<div class=\"r\"><span class=\"sw\" style=\"background:" + s.color + "\"></span><span class=\"n\">" + esc(s.name) +
          "</span><span class=\"v\">" + esc(text) + "</span></div>";
      });
      tip.innerHTML = h;
      placeTip(el, tip, svg, bx, py === null ? 40 : py);
    });
  }

  // ---- histogram (risk page) -------------------------------------------------------------
  // h: {label, edges, counts}; opt: height, emptyText, unit ("paths"), xTick, xFmt and prefix
  // (tooltip title), color(bin), ref ({value, label}) and legend(total, bins) items. Bars are
  // shares of all counted paths; bins with missing or reversed edges are skipped.
  function drawHist(el, h, opt) {
    var bins = [], total = 0, top = 0;
    if (h && h.counts) {
      h.counts.forEach(function (c, i) {
        var a = h.edges[i], b = h.edges[i + 1];
        if (!ok(a) || !ok(b) || !(b > a) || !ok(c)) return;
        bins.push({ a: a, b: b, c: c });
        total += c;
        top = Math.max(top, c);
      });
    }
    if (!bins.length || !(total > 0)) return empty(el, opt.emptyText);
    var xlo = Infinity, xhi = -Infinity;
    bins.forEach(function (q) { xlo = Math.min(xlo, q.a); xhi = Math.max(xhi, q.b); });
    var W = Math.max(320, el.clientWidth || 800), H = opt.height, mt = 14, mb = h.label ? 46 : 28;
    var lo = 0, hi = top / total * 1.08;
    var ticks = linTicks(lo, hi, Math.max(3, Math.floor((H - mt - mb) / 48)));
    var tickLabels = ticks.ticks.map(function (v) { return pctTick(v, ticks.step); });
    var ml = Math.ceil(Math.max.apply(null, tickLabels.map(textWidth).concat([24])) + 16);
    var x0 = ml, x1 = W - 18, y0 = mt, y1 = H - mb;
    function sx(x) { return x0 + (x - xlo) / (xhi - xlo) * (x1 - x0); }
    function sy(v) { return y1 - (v - lo) / (hi - lo) * (y1 - y0); }
    var p = ["<svg width=\"" + W + "\" height=\"" + H + "\" viewBox=\"0 0 " + W + " " + H + "\" role=\"img\">"];
    yGrid(p, ticks.ticks, tickLabels, sy, x0, x1);
    var xt = linTicks(xlo, xhi, Math.max(2, Math.floor((x1 - x0) / 70)));
    xt.ticks.forEach(function (v) {
      var x = r1(sx(v));
      p.push("<line x1=\"" + x + "\" x2=\"" + x + "\" y1=\"" + y1 + "\" y2=\"" + (y1 + 4) + "\" stroke=\"#94a3b8\"/>");
      p.push("<text class=\"axis-label\" x=\"" + x + "\" y=\"" + (y1 + 18) + "\" text-anchor=\"middle\">" + esc(opt.xTick(v, xt.step)) + "</text>");
    });
    if (h.label) p.push("<text class=\"x-title\" x=\"" + r1((x0 + x1) / 2) + "\" y=\"" + (H - 6) + "\" text-anchor=\"middle\">" + esc(h.label) + "</text>");
    bins.forEach(function (q, i) {
      if (!(q.c > 0)) return;
      var xa = sx(q.a), xb = sx(q.b), gap = xb - xa > 4 ? 1 : 0, y = sy(q.c / total);
      p.push("<rect class=\"bar\" data-i=\"" + i + "\" x=\"" + r1(xa + gap / 2) + "\" y=\"" + r1(y) + "\" width=\"" + r1(Math.max(1, xb - xa - gap)) +
        "\" height=\"" + r1(Math.max(0.5, y1 - y)) + "\" fill=\"" + opt.color(q) + "\"/>");
    });
    var ref = opt.ref;
    if (ref && ok(ref.value) && ref.value > xlo && ref.value < xhi) {
      var rx = r1(sx(ref.value)), right = rx < (x0 + x1) / 2;
      p.push("<line class=\"level\" x1=\"" + rx + "\" x2=\"" + rx + "\" y1=\"" + y0 + "\" y2=\"" + y1 + "\" stroke=\"#334155\" stroke-width=\"1.3\" stroke-dasharray=\"4 4\"/>");
      p.push("<text class=\"ref-label\" x=\"" + (right ? rx + 5 : rx - 5) + "\" y=\"" + (y0 + 10) + "\" text-anchor=\"" + (right ? "start" : "end") + "\" style=\"fill:#334155\">" + esc(ref.label) + "</text>");
    }
    p.push("<line x1=\"" + x0 + "\" x2=\"" + x1 + "\" y1=\"" + y1 + "\" y2=\"" + y1 + "\" stroke=\"#94a3b8\"/>");
    p.push("<rect class=\"ov\" x=\"" + x0 + "\" y=\"" + y0 + "\" width=\"" + (x1 - x0) + "\" height=\"" + (y1 - y0) + "\" fill=\"transparent\"/>");
    p.push("</svg>");
    el.innerHTML = legendStatic(opt.legend(total, bins)) + p.join("") + "<div class=\"tip\"></div>";
    var svg = el.querySelector("svg"), tip = el.querySelector(".tip"), ov = svg.querySelector(".ov"), on = null;
    function mark(node) { if (on) on.classList.remove("on"); on = node; if (on) on.classList.add("on"); }
    ov.addEventListener("pointerleave", function () { tip.style.display = "none"; mark(null); });
    ov.addEventListener("pointermove", function (ev) {
      var r = svg.getBoundingClientRect(), px = (ev.clientX - r.left) * (svg.viewBox.baseVal.width / r.width);
      var xv = xlo + (px - x0) / (x1 - x0) * (xhi - xlo), k = -1;
      bins.forEach(function (q, i) { if (xv >= q.a && (xv < q.b || i === bins.length - 1)) k = i; });
      if (k < 0) { tip.style.display = "none"; mark(null); return; }
      var q = bins[k];
      mark(svg.querySelector(".bar[data-i=\"" + k + "\"]"));
      tip.innerHTML = "<div class=\"t\">" + esc((opt.prefix || "") + opt.xFmt(q.a) + " \u2013 " + opt.xFmt(q.b)) + "</div><div class=\"r\"><span class=\"n\">" +
        esc(fmt(q.c, 0) + " " + opt.unit) + "</span><span class=\"v\">" + esc(pct(q.c / total)) + "</span></div>";
      placeTip(el, tip, svg, px, sy(q.c / total));
    });
  }

  // ---- the risk page's charts ------------------------------------------------------------
  var GROUP_COLORS = ["#1d4ed8", "#ea580c", "#059669", "#7c3aed", "#db2777", "#0891b2", "#a16207", "#475569"];
  function tint(hex, a) {
    var n = parseInt(hex.slice(1), 16);
    return "rgba(" + (n >> 16) + "," + ((n >> 8) & 255) + "," + (n & 255) + "," + a + ")";
  }
  function lev(v) { return ok(v) ? fmt(v, 2) + "x" : DASH; }
  function mult(v) { return ok(v) ? fmt(v, 2) + "\u00d7" : DASH; }
  function multTick(v, step) { return fmt(v, decimalsFor(step)) + "\u00d7"; }
  function levelName(l) { return pct(l, Math.abs(l * 100 - Math.round(l * 100)) > 1e-6 ? 1 : 0); }
  function fanChart(el, fan) {
    if (!fan || !fan.days || !fan.days.length) return empty(el, "No equity fan for this configuration");
    var levels = fan.levels || [], bands = fan.bands || [], series = [], legend = [], used = {}, ALPHA = 0.15;
    var pairs = [];
    levels.forEach(function (l, i) {
      if (l >= 0.5 || used[i]) return;
      for (var j = levels.length - 1; j > i; j--) {
        if (!used[j] && Math.abs(levels[j] - (1 - l)) < 1e-6) { used[i] = used[j] = 1; pairs.push([i, j]); return; }
      }
    });
    pairs.forEach(function (q, k) {
      var shade = "rgba(37,99,235," + r1((1 - Math.pow(1 - ALPHA, k + 1)) * 100) / 100 + ")";
      var name = levelName(levels[q[0]]) + "\u2013" + levelName(levels[q[1]]);
      series.push({ name: name, band: true, x: fan.days, lo: bands[q[0]], hi: bands[q[1]], fill: "rgba(37,99,235," + ALPHA + ")", color: shade });
      legend.push({ label: name + " of paths", color: shade, style: "box" });
    });
    levels.forEach(function (l, i) {
      if (used[i]) return;
      var median = Math.abs(l - 0.5) < 1e-6;
      series.push({ name: median ? "Median" : levelName(l) + " quantile", x: fan.days, y: bands[i], color: median ? "#1e3a8a" : "#3b82f6",
        width: median ? 2.6 : 1.2, dash: median ? "" : "2 3" });
      legend.push({ label: median ? "Median" : levelName(l) + " quantile", color: median ? "#1e3a8a" : "#3b82f6", style: median ? "line" : "dash", strong: median });
    });
    if (fan.mean && fan.mean.length) {
      series.push({ name: "Mean", x: fan.days, y: fan.mean, color: "#ea580c", width: 1.8, dash: "6 4" });
      legend.push({ label: "Mean", color: "#ea580c", style: "dash" });
    }
    legend.push({ style: "sep" }, { label: "Break-even (1.0\u00d7)", color: "#64748b", style: "dash" });
    drawXY(el, { height: 380, series: series, legend: legend, floor: 0, xPad1: 1,
      levels: [{ value: 1, color: "#64748b", dash: "5 4" }],
      xTitle: "Days since start", xFmt: function (d) { return "Day " + fmt(d, Math.abs(d - Math.round(d)) > 1e-9 ? 1 : 0); },
      xTick: function (v, step) { return fmt(v, decimalsFor(step)); }, yFmt: mult, yTick: multTick,
      emptyText: "No finite values in this fan" });
  }
  function riskCharts() {
    var rows = D.rows || [], groups = D.groups && D.groups.length ? D.groups : [""], multi = groups.length > 1;
    var state = { focus: ok(D.focus) ? D.focus : -1 };
    var sets = groups.map(function (name, g) {
      var members = rows.filter(function (r) { return r.group === g && ok(r.lev); }).sort(function (a, b) { return a.lev - b.lev; });
      function col(k) { return members.map(function (r) { return r[k]; }); }
      return { name: name, color: multi ? GROUP_COLORS[g % GROUP_COLORS.length] : "#1d4ed8", col: col };
    });
    var liqSeries = sets.map(function (s) {
      return { name: multi ? s.name : "Liquidation probability", color: s.color, x: s.col("lev"), y: s.col("liq"), lo: s.col("liq_lo"),
        hi: s.col("liq_hi"), err: true, dots: true, width: 2 };
    });
    var liqLegend = multi ? sets.map(function (s) { return { label: s.name, color: s.color, style: "line" }; })
      : [{ label: "Liquidation probability", color: "#1d4ed8", style: "line" }];
    liqLegend.push({ label: "95% Wilson interval", color: "#475569", style: "err" });
    var apySeries = [], apyLegend = [];
    sets.forEach(function (s) {
      var tag = multi ? s.name + " \u00b7 " : "";
      apySeries.push({ name: tag + "5%\u201395%", band: true, color: s.color, fill: tint(s.color, multi ? 0.08 : 0.13), edge: multi,
        x: s.col("lev"), lo: s.col("q05"), hi: s.col("q95") });
      apySeries.push({ name: tag + "mean", color: s.color, x: s.col("lev"), y: s.col("mean_apy"), dots: true, width: 2.2 });
      apySeries.push({ name: tag + "median", color: s.color, x: s.col("lev"), y: s.col("median_apy"), dots: true, width: 1.6, dash: "5 4" });
      if (multi) apyLegend.push({ label: s.name, color: s.color, style: "line" });
    });
    if (multi) apyLegend.push({ style: "sep" });
    apyLegend.push({ label: "Mean", color: multi ? "#475569" : "#1d4ed8", style: "line" },
      { label: "Median", color: multi ? "#475569" : "#1d4ed8", style: "dash" },
      { label: "5%\u201395% of paths", color: multi ? "rgba(71,85,105,0.22)" : tint("#1d4ed8", 0.2), style: "box" });
    var liqCfg = { height: 340, series: liqSeries, legend: liqLegend, floor: 0, ceil: 1, xPad: 0.06, xTitle: "Leverage",
      xFmt: lev, xTick: function (v, step) { return fmt(v, decimalsFor(step)) + "x"; }, yFmt: function (v) { return pct(v, 2); },
      yTick: pctTick, emptyText: rows.length ? "No finite liquidation probabilities" : "No configurations" };
    var apyCfg = { height: 340, series: apySeries, legend: apyLegend, xPad: 0.06, xTitle: "Leverage",
      levels: [{ value: 0, color: "#94a3b8", dash: "" }],
      xFmt: lev, xTick: liqCfg.xTick, yFmt: function (v) { return pct(v, 1); }, yTick: pctTick,
      emptyText: rows.length ? "No finite net APY" : "No configurations" };
    function outcomeColor(q) { return (q.a + q.b) / 2 < 1 ? "#f87171" : "#34d399"; }
    var outcomeOpt = { height: 300, unit: "paths", emptyText: "No final equity histogram for this configuration",
      xTick: multTick, xFmt: mult, color: outcomeColor, ref: { value: 1, label: "break-even" },
      legend: function (total, bins) {
        var below = 0;
        bins.forEach(function (q) { if (q.b <= 1) below += q.c; });
        return [{ label: "Loss", color: "#f87171", style: "box" }, { label: "Gain", color: "#34d399", style: "box" },
          { label: "Break-even", color: "#334155", style: "dash" }, { style: "sep" },
          { label: fmt(total, 0) + " paths \u00b7 " + pct(below / total) + " end below 1.0\u00d7", style: "text" }];
      } };
    var liqTimeOpt = { height: 300, unit: "liquidated paths", emptyText: "No path was liquidated",
      xTick: function (v, step) { return fmt(v, decimalsFor(step)); }, prefix: "Days ", xFmt: function (d) { return fmt(d, Math.abs(d - Math.round(d)) > 1e-9 ? 1 : 0); },
      color: function () { return "#b91c1c"; },
      legend: function (total) { return [{ label: fmt(total, 0) + " liquidated paths", color: "#b91c1c", style: "box" }]; } };
    function at(list) { return state.focus >= 0 ? (list || [])[state.focus] : null; }
    var focusCharts = [
      { id: "chart-fan", draw: function (el) { if (state.focus < 0) return empty(el, "No configurations"); fanChart(el, at(D.fans)); } },
      { id: "chart-outcome", draw: function (el) { if (state.focus < 0) return empty(el, "No configurations"); drawHist(el, at(D.outcomes), outcomeOpt); } },
      { id: "chart-liq-time", draw: function (el) { if (state.focus < 0) return empty(el, "No configurations"); drawHist(el, at(D.liq_times), liqTimeOpt); } }
    ];
    var sel = document.getElementById("focus-select");
    function setFocus(i) {
      if (!(i >= 0 && i < rows.length) || i === state.focus) return;
      state.focus = i;
      if (sel) sel.value = String(i);
      Array.prototype.forEach.call(document.querySelectorAll("tr[data-row]"), function (tr) {
        tr.classList.toggle("primary", +tr.getAttribute("data-row") === i);
      });
      Array.prototype.forEach.call(document.querySelectorAll(".focus-label"), function (n) { n.textContent = rows[i].label; });
      drawCharts(focusCharts);
    }
    if (sel) sel.addEventListener("change", function () { setFocus(+sel.value); });
    Array.prototype.forEach.call(document.querySelectorAll("tr[data-row]"), function (tr) {
      tr.addEventListener("click", function () {
        setFocus(+tr.getAttribute("data-row"));
        var f = document.getElementById("focus");
        if (f && f.scrollIntoView) f.scrollIntoView({ behavior: "smooth", block: "start" });
      });
    });
    return [
      { id: "chart-liq-leverage", draw: function (el) { drawXY(el, liqCfg); } },
      { id: "chart-apy-leverage", draw: function (el) { drawXY(el, apyCfg); } }
    ].concat(focusCharts);
  }

  // ---- the backtest page's four charts ---------------------------------------------------
  function wide(s) {
    var lo = Infinity, hi = -Infinity;
    s.v.forEach(function (v) { if (ok(v) && v > 0) { lo = Math.min(lo, v); hi = Math.max(hi, v); } });
    return hi / lo > 8;
  }
  function backtestCharts() {
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
    function priceTick(v, step) { return compact(v, Math.min(step, Math.abs(v) || step)); }
    var levels = [], kill = D.kill, work = D.work;
    if (ok(kill)) levels.push({ value: kill, color: "#dc2626", dash: "7 4", label: "liquidation " + pct(kill) });
    if (ok(work)) levels.push({ value: work, color: "#64748b", dash: "3 3", dotted: true, label: "open limit " + pct(work) });
    (D.triggers || []).forEach(function (t) {
      if (ok(t.value)) levels.push({ value: t.value, color: "#d97706", dash: "2 3", dotted: true, label: t.name + " " + pct(t.value) });
    });
    var include = [0].concat(levels.map(function (l) { return l.value * 1.08; }));
    return [
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
  }
  function drawCharts(list) {
    var failed = 0;
    list.forEach(function (c) {
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
  // ---- the portfolio page's equity chart ------------------------------------------------
  function portfolioCharts() {
    var equity = (D.equity || []).map(function (s, i) {
      var x = decode(s);
      x.color = PALETTE[i % PALETTE.length]; x.width = i === 0 ? 2.6 : 1.4; x.primary = i === 0;
      if (/^All in /.test(x.name)) x.dash = "5 4";
      return x;
    });
    return [
      { id: "chart-equity", draw: drawLine, cfg: { height: 380, series: equity, hidden: {}, log: false, logToggle: true,
        fmt: money, tick: function (v, step) { return compact(v, step); }, markers: [] } }
    ];
  }
  var charts = D.kind === "risk" ? riskCharts() : D.kind === "portfolio" ? portfolioCharts() : backtestCharts();
  function drawAll() { return drawCharts(charts); }
  if (drawAll()) document.body.setAttribute("data-ready", "1");
  var timer = null, lastW = window.innerWidth;
  window.addEventListener("resize", function () {
    if (window.innerWidth === lastW) return;
    lastW = window.innerWidth;
    clearTimeout(timer);
    timer = setTimeout(drawAll, 120);
  });
})();
