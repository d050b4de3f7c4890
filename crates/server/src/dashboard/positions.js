// Quoting and opening, the positions and their cards, and a position's history chart.

import { big, fmtBpsPct, fmtLeverageBps, fmtPriceText, fmtPriceWad, fmtScaled, fmtTime, fmtUsd, leverageToBps, plotWad } from './format.js';
import { $, busy, clearError, debounce, el, errorBoxFor, setText, showError } from './dom.js';
import { cssVar, drawChart } from './chart.js';
import { HISTORY_POINTS_KEPT, QUOTE_DEBOUNCE_MS, decimalsOf, fmtToken, signClass, state, wholeToRaw } from './state.js';
import { api } from './api.js';
import { loadMe, loadOrders, loadOrdersSoon, loadPositions } from './session.js';
import { mergePricePoints } from './market.js';
import { renderOrderPositions } from './orders.js';

// ---------------------------------------------------------------- quote and open

export const Quote = (() => {
  let seq = 0;
  function spec() {
    const equityText = $('#open-equity').value;
    const levText = $('#open-leverage').value.trim();
    const stable = (state.market && state.market.stable) || 'USDC';
    const equity1 = wholeToRaw(equityText, stable);
    if (equity1 === null || equity1 === '0') {
      return { error: `Equity: a positive amount of ${stable} with at most ${decimalsOf(stable)} decimals.`, field: '#open-equity' };
    }
    const lev = leverageToBps(levText);
    if (lev === null) {
      return { error: 'Leverage: a number of times like 3 or 2.5.', field: '#open-leverage' };
    }
    const max = big(state.market && state.market.settings && state.market.settings.max_leverage_bps);
    if (lev < 10000n || (max !== null && lev > max)) {
      const limit = max === null ? '' : ` and ${fmtScaled(max, 4, 2).replace(/\.?0+$/, '')}x (the market's limit)`;
      return { error: `Leverage: between 1x${limit}.`, field: '#open-leverage' };
    }
    const body = { equity1, leverage: levText.replace(/[xX]$/, ''), borrow: $('#open-borrow').value };
    const venues = (state.market && state.market.venues) || [];
    if (venues.length > 1) body.venue = $('#open-venue').value;
    const pools = (state.market && state.market.pools) || [];
    if (pools.length > 1) body.pool = $('#open-pool').value;
    return { body };
  }
  /** Why the wallet cannot pay for this (no request is made then), or null. */
  function unaffordable(body) {
    const stable = (state.market && state.market.stable) || 'USDC';
    if (!state.wallet) return 'Loading the wallet…';
    const held = big((state.wallet.balances || []).find(([t]) => t === stable)?.[1]) ?? 0n;
    const need = BigInt(body.equity1);
    if (held >= need) return null;
    return `The wallet holds ${fmtToken(held, stable)} ${stable}; this needs ${fmtToken(need, stable)} ${stable}. Fund it first.`;
  }
  function markInvalid(field) {
    for (const id of ['#open-equity', '#open-leverage']) {
      $(id).setAttribute('aria-invalid', String(id === field));
    }
  }
  async function run() {
    if (!state.token) return;
    const box = $('#quote');
    const err = errorBoxFor(box);
    const s = spec();
    markInvalid(s.field);
    const mine = ++seq;
    if (s.error) {
      box.replaceChildren(el('p', { class: 'muted', text: 'No quote.' }));
      showError(err, s.error);
      return;
    }
    const short = unaffordable(s.body);
    if (short) {
      clearError(err);
      box.replaceChildren(el('p', { class: 'muted', text: short }));
      return;
    }
    box.classList.add('loading');
    try {
      const q = await api('POST', '/v1/quote', s.body);
      if (mine !== seq) return;
      clearError(err);
      renderQuote(q, s.body);
    } catch (e) {
      if (mine !== seq) return;
      box.replaceChildren(el('p', { class: 'muted', text: 'No quote.' }));
      showError(err, e);
    } finally {
      if (mine === seq) box.classList.remove('loading');
    }
  }
  const soon = debounce(run, QUOTE_DEBOUNCE_MS);
  return {
    spec,
    unaffordable,
    soon,
    refresh: () => { if (state.token) soon(); },
    reset: () => {
      soon.cancel();
      seq++;
      $('#quote').replaceChildren(el('p', { class: 'muted', text: 'Enter an amount for a quote.' }));
    },
  };
})();

export function borrowText(pair) {
  const m = state.market;
  const asset = (m && m.asset) || 'WETH';
  const stable = (m && m.stable) || 'USDC';
  const [b0, b1] = pair || [];
  const parts = [];
  if (big(b0)) parts.push(`${fmtToken(b0, asset)} ${asset}`);
  if (big(b1)) parts.push(`${fmtToken(b1, stable)} ${stable}`);
  return parts.length ? parts.join(' + ') : 'nothing';
}

export function renderQuote(q) {
  const h = q.health || {};
  const lp = q.liquidation_prices || {};
  const row = (k, v, cls) => [el('dt', { text: k }), el('dd', { class: cls, text: v })];
  $('#quote').replaceChildren(el('dl', null,
    row('Borrow', borrowText(q.borrow)),
    row('Equity in', fmtUsd(q.equity_in)),
    row('Equity after', fmtUsd(q.equity_after)),
    row('Opening cost', fmtUsd(q.opening_cost), signClass(q.opening_cost)),
    row('Position value', fmtUsd(h.value)),
    row('Debt ratio', fmtBpsPct(h.debt_ratio_bps)),
    row('Leverage', fmtLeverageBps(h.leverage_bps)),
    row('Liquidation below', lp.lower ? fmtPriceWad(lp.lower) : 'none'),
    row('Liquidation above', lp.upper ? fmtPriceWad(lp.upper) : 'none'),
  ));
}

export async function openPosition(ev) {
  ev.preventDefault();
  const form = $('#open-form');
  const box = errorBoxFor(form);
  const s = Quote.spec();
  if (s.error) {
    showError(box, s.error);
    return;
  }
  const short = Quote.unaffordable(s.body);
  if (short) {
    showError(box, short);
    return;
  }
  await busy($('#open'), box, async () => {
    const view = await api('POST', '/v1/positions', s.body);
    upsertPosition(view);
    selectPosition(view.id);
    flashCard(view.id);
    loadMe().catch(() => {});
    Quote.refresh();
  });
}

// ---------------------------------------------------------------- positions

export function isLong(p) {
  const d = p.health && p.health.debt;
  if (!d) return null;
  if (big(d[0])) return false;
  if (big(d[1])) return true;
  return null;
}

export function sortedPositions() {
  return [...state.positions.values()].sort((a, b) => (b.open - a.open) || (b.id - a.id));
}

export function ensureSelection() {
  if (state.selected !== null && state.positions.has(state.selected)) return;
  const list = sortedPositions();
  const pick = list.find((p) => p.open) || list[0];
  if (pick) selectPosition(pick.id);
  else {
    state.selected = null;
    state.history = { id: null, points: [], loading: false, buffered: [] };
    setText($('#history-label'), 'Select a position.');
    drawEquityChart();
  }
}

export function upsertPosition(view) {
  const prev = state.positions.get(view.id);
  state.positions.set(view.id, view);
  if (prev && prev.open && !view.open) loadOrdersSoon();
  if (state.selected === null) ensureSelection();
  renderPositions();
  if (view.id === state.selected) {
    addHistoryPoint(view);
    updateHistoryLabel();
  }
}

export function renderPositions() {
  const box = $('#positions');
  const list = sortedPositions();
  const cards = new Map();
  for (const c of box.querySelectorAll(':scope > .position')) cards.set(Number(c.dataset.id), c);
  if (!list.length) {
    box.replaceChildren(el('p', { class: 'muted empty', text: 'No positions yet.' }));
  } else {
    const empty = box.querySelector(':scope > .empty');
    if (empty) empty.remove();
    let before = box.firstElementChild;
    for (const p of list) {
      let card = cards.get(p.id);
      if (!card) card = buildCard(p.id);
      cards.delete(p.id);
      updateCard(card, p);
      if (card !== before) box.insertBefore(card, before);
      before = card.nextElementSibling;
    }
    for (const c of cards.values()) c.remove();
  }
  const open = list.filter((p) => p.open).length;
  setText($('#positions-count'), list.length ? `${open} open · ${list.length - open} closed` : '');
  renderOrderPositions();
}

export function buildCard(id) {
  const stat = (label, cls) => el('div', null, el('dt', { text: label }), el('dd', { class: cls, text: '—' }));
  const card = el('article', { class: 'position', dataset: { id: String(id) }, tabindex: '0' },
    el('header', { class: 'pos-head' },
      el('span', { class: 'pos-id', text: `#${id}` }),
      el('span', { class: 'side-tag' }),
      el('span', { class: 'status' }),
      el('span', { class: 'opened' })),
    el('div', { class: 'closed-note', hidden: true }),
    el('div', { class: 'pos-body' },
      el('div', null,
        el('div', { class: 'health' },
          el('div', { class: 'health-labels' },
            el('span', null, 'debt ratio ', el('b', { class: 'debt-ratio', text: '—' })),
            el('span', { class: 'kill-label' })),
          el('div', { class: 'health-bar', role: 'meter', 'aria-valuemin': '0' },
            el('div', { class: 'fill' }),
            el('div', { class: 'mark work' }))),
        el('dl', { class: 'pos-stats' },
          stat('Equity', 'equity'),
          stat('Net contributed', 'contributed'),
          stat('Leverage', 'leverage'),
          stat('Debt', 'debt'),
          stat('Liquidation below', 'liq-lower'),
          stat('Liquidation above', 'liq-upper'),
          stat('Distance to liquidation', 'distance'),
          stat('Position value', 'value'))),
      el('table', { class: 'pnl' },
        el('caption', { text: 'Profit and loss' }),
        el('tbody'),
        el('tfoot', null, el('tr', null, el('td', { text: 'total' }), el('td', { class: 'pnl-total' }))))),
    el('div', { class: 'actions' },
      el('button', { type: 'button', class: 'close danger small', text: 'Close' }),
      el('button', { type: 'button', class: 'reduce small', text: 'Reduce 25%' }),
      el('span', { class: 'grow' }),
      el('span', { class: 'inline-input' },
        el('input', { class: 'collateral-amount', inputmode: 'decimal', value: '100', 'aria-label': 'collateral in USDC' }),
        el('button', { type: 'button', class: 'add-collateral small', text: 'Add collateral' })),
      el('span', { class: 'inline-input' },
        el('input', { class: 'leverage-input', inputmode: 'decimal', placeholder: '2', 'aria-label': 'new leverage' }),
        el('button', { type: 'button', class: 'set-leverage small', text: 'Set leverage' }))),
    el('div', { class: 'error', role: 'alert', hidden: true }));
  return card;
}

export function healthLevel(ratioBps, killBps) {
  if (!killBps) return 'green';
  const f = ratioBps / killBps;
  if (f >= 0.95) return 'red';
  if (f >= 0.85) return 'amber';
  return 'green';
}

export function updateCard(card, p) {
  const m = state.market;
  const kill = m ? m.kill_factor_bps : null;
  const work = m ? m.work_factor_bps : null;
  const h = p.health;
  const lp = p.liquidation_prices;
  card.classList.toggle('closed', !p.open);
  card.classList.toggle('selected', p.id === state.selected);
  const how = p.closed ? p.closed.how : 'closed';
  card.classList.toggle('bad', !p.open && /liquidat|stopped/.test(how));
  setText(card.querySelector('.status'), p.open ? 'open' : `closed: ${how}`);

  const long = isLong(p);
  const side = card.querySelector('.side-tag');
  const asset = (m && m.asset) || 'WETH';
  setText(side, long === null ? '' : long ? `long ${asset}` : `short ${asset}`);
  side.hidden = long === null;
  side.classList.toggle('short', long === false);
  let opened = `opened ${fmtTime(p.opened_at)}`;
  setText(card.querySelector('.opened'), opened);

  const note = card.querySelector('.closed-note');
  if (p.closed) {
    setText(note, `${p.closed.how} at ${fmtTime(p.closed.time)} UTC${p.closed.note ? ` — ${p.closed.note}` : ''}`);
    note.hidden = false;
  } else {
    note.hidden = true;
  }

  // Health: the debt ratio against the kill factor.
  const bar = card.querySelector('.health-bar');
  const fill = bar.querySelector('.fill');
  const mark = bar.querySelector('.mark');
  setText(card.querySelector('.kill-label'), kill && p.open ? `liquidated at ${fmtBpsPct(kill)}` : '');
  if (h && kill) {
    const ratio = Number(h.debt_ratio_bps);
    const frac = Math.min(1, ratio / kill);
    fill.style.width = `${(frac * 100).toFixed(2)}%`;
    bar.classList.remove('green', 'amber', 'red');
    bar.classList.add(healthLevel(ratio, kill));
    bar.dataset.level = healthLevel(ratio, kill);
    bar.setAttribute('aria-valuemax', String(kill));
    bar.setAttribute('aria-valuenow', String(ratio));
    bar.title = `debt ratio ${fmtBpsPct(ratio)} of ${fmtBpsPct(kill)} kill factor`;
    if (work && work < kill) {
      mark.style.left = `${((work / kill) * 100).toFixed(2)}%`;
      mark.title = `work factor ${fmtBpsPct(work)}`;
      mark.hidden = false;
    } else mark.hidden = true;
  } else {
    fill.style.width = '0';
    bar.classList.remove('green', 'amber', 'red');
    bar.removeAttribute('data-level');
    bar.removeAttribute('aria-valuenow');
    mark.hidden = true;
  }
  setText(card.querySelector('.debt-ratio'), h ? fmtBpsPct(h.debt_ratio_bps) : '—');

  const equity = card.querySelector('.equity');
  setText(equity, fmtUsd(p.equity));
  setText(card.querySelector('.contributed'), fmtUsd(p.contributed));
  setText(card.querySelector('.leverage'), h ? fmtLeverageBps(h.leverage_bps) : '—');
  setText(card.querySelector('.debt'), h ? borrowText(h.debt) : '—');
  card.querySelector('.debt').title = h ? `worth ${fmtUsd(h.debt_value)}` : '';
  setText(card.querySelector('.value'), h ? fmtUsd(h.value) : '—');
  setText(card.querySelector('.liq-lower'), lp ? (lp.lower ? fmtPriceWad(lp.lower) : 'none') : '—');
  setText(card.querySelector('.liq-upper'), lp ? (lp.upper ? fmtPriceWad(lp.upper) : 'none') : '—');
  const dist = card.querySelector('.distance');
  setText(dist, p.distance_bps !== undefined && p.distance_bps !== null ? fmtBpsPct(p.distance_bps) : '—');

  // Profit and loss: each part, then the total they add up to.
  const pnl = p.pnl || { parts: [], total: '0' };
  const tbody = card.querySelector('.pnl tbody');
  const parts = pnl.parts || [];
  if (tbody.children.length !== parts.length) {
    tbody.replaceChildren(...parts.map(() => el('tr', null, el('td'), el('td'))));
  }
  parts.forEach(([name, value], i) => {
    const tr = tbody.children[i];
    tr.dataset.part = name;
    tr.classList.toggle('zero', signClass(value) === '');
    setText(tr.children[0], name);
    setText(tr.children[1], fmtUsd(value, { plus: true }));
    tr.children[1].className = signClass(value);
  });
  const total = card.querySelector('.pnl-total');
  setText(total, fmtUsd(pnl.total, { plus: true }));
  total.className = `pnl-total ${signClass(pnl.total)}`;

  card.querySelector('.actions').hidden = !p.open;
  if (!p.open) clearError(card.querySelector(':scope > .error'));
}

export function flashCard(id) {
  const card = $(`#positions .position[data-id="${id}"]`);
  if (!card) return;
  card.classList.remove('flash');
  void card.offsetWidth;
  card.classList.add('flash');
}

export async function onPositionsClick(ev) {
  const card = ev.target.closest('.position');
  if (!card) return;
  const id = Number(card.dataset.id);
  const button = ev.target.closest('button');
  if (!button) {
    if (!ev.target.closest('input, select, a')) selectPosition(id);
    return;
  }
  const box = card.querySelector(':scope > .error');
  let request = null;
  if (button.classList.contains('close')) {
    request = () => api('POST', `/v1/positions/${id}/close`);
  } else if (button.classList.contains('reduce')) {
    request = () => api('POST', `/v1/positions/${id}/reduce`, { share_bps: 2500 });
  } else if (button.classList.contains('add-collateral')) {
    const stable = (state.market && state.market.stable) || 'USDC';
    const raw = wholeToRaw(card.querySelector('.collateral-amount').value, stable);
    if (raw === null || raw === '0') {
      showError(box, `Collateral: a positive amount of ${stable}.`);
      return;
    }
    request = () => api('POST', `/v1/positions/${id}/collateral`, { amount1: raw });
  } else if (button.classList.contains('set-leverage')) {
    const text = card.querySelector('.leverage-input').value.trim().replace(/[xX]$/, '');
    if (leverageToBps(text) === null) {
      showError(box, 'Leverage: a number of times like 2 or 2.5.');
      return;
    }
    request = () => api('POST', `/v1/positions/${id}/leverage`, { leverage: text });
  }
  if (!request) return;
  await busy(button, box, async () => {
    const view = await request();
    upsertPosition(view);
    if (view.id !== id) {
      selectPosition(view.id);
      flashCard(view.id);
    }
    // An action may replace or close positions and spend orders: read them again.
    await Promise.allSettled([loadPositions(), loadOrders(), loadMe()]);
  });
}

// ---------------------------------------------------------------- position history chart

export function selectPosition(id) {
  if (state.selected === id && state.history.id === id) return;
  state.selected = id;
  for (const c of $('#positions').querySelectorAll('.position')) {
    c.classList.toggle('selected', Number(c.dataset.id) === id);
  }
  state.history = { id, points: [], loading: true, buffered: [] };
  const sel = $('#order-position');
  if ([...sel.options].some((o) => o.value === String(id))) sel.value = String(id);
  updateHistoryLabel();
  drawEquityChart();
  loadHistory(id);
}

export async function loadHistory(id) {
  try {
    const list = await api('GET', `/v1/positions/${id}/history`);
    if (state.history.id !== id) return;
    const points = list.map((h) => ({
      time: h.time, equity: h.equity, debt_ratio_bps: h.debt_ratio_bps, price: h.price,
    }));
    const lastTime = points.length ? points[points.length - 1].time : -Infinity;
    for (const b of state.history.buffered) if (b.time > lastTime) points.push(b);
    state.history.points = points.slice(-HISTORY_POINTS_KEPT);
    state.history.loading = false;
    state.history.buffered = [];
    mergePricePoints(list.map((h) => ({ time: h.time, price: h.price })));
  } catch (e) {
    if (state.history.id !== id) return;
    state.history.loading = false;
    state.history.points = state.history.buffered;
    setText($('#history-label'), `History unavailable: ${e.message}`);
    drawEquityChart();
    return;
  }
  updateHistoryLabel();
  drawEquityChart();
}

/** Reads the selected position's history again (after a reconnect: points were missed). */
export function reloadHistory() {
  const id = state.selected;
  if (id === null) return;
  state.history = { id, points: [], loading: true, buffered: [] };
  loadHistory(id);
}

export function addHistoryPoint(view) {
  const hist = state.history;
  if (hist.id !== view.id) return;
  const m = state.market;
  const point = {
    time: m ? m.time : (hist.points.length ? hist.points[hist.points.length - 1].time : 0),
    equity: view.equity,
    debt_ratio_bps: view.health ? view.health.debt_ratio_bps : null,
    provisional: true,
    at: Date.now(),
  };
  if (hist.loading) hist.buffered.push(point);
  else {
    hist.points.push(point);
    if (hist.points.length > HISTORY_POINTS_KEPT) hist.points.splice(0, hist.points.length - HISTORY_POINTS_KEPT);
    drawEquityChart();
  }
}

/** The keeper sends a tick's position views just before its market view: date them by it. */
export function fixProvisionalPoints(marketTime) {
  const hist = state.history;
  let changed = false;
  const now = Date.now();
  for (const list of [hist.points, hist.buffered]) {
    for (const p of list) {
      if (!p.provisional) continue;
      if (now - p.at < 400 && p.time < marketTime) { p.time = marketTime; changed = true; }
      p.provisional = false;
    }
  }
  if (changed) drawEquityChart();
}

export function updateHistoryLabel() {
  const id = state.selected;
  const label = $('#history-label');
  if (id === null) { setText(label, 'Select a position.'); return; }
  const p = state.positions.get(id);
  const status = p ? (p.open ? 'open' : `closed: ${p.closed ? p.closed.how : ''}`) : '';
  const n = state.history.points.length;
  setText(label, `Position #${id}${status ? ` · ${status}` : ''}${state.history.loading ? ' · loading…' : ` · ${n} point${n === 1 ? '' : 's'}`}`);
}

export function drawPriceChart() {
  const canvas = $('#price-chart');
  const m = state.market;
  const stable = (m && m.stable) || 'USDC';
  drawChart(canvas, {
    series: [{
      name: `price (${stable})`,
      axis: 'left',
      color: cssVar('--chart-price') || '#4c8dff',
      fill: 'rgba(76,141,255,0.18)',
      points: state.priceSeries.map((p) => ({ x: p.time, y: p.y, label: fmtPriceText(p.price) })),
    }],
    hlines: [],
    xLabel: (x, span) => fmtTime(x, span < 7200),
    empty: state.token ? 'waiting for the first price…' : '',
  });
}

export function drawEquityChart() {
  const canvas = $('#equity-chart');
  const m = state.market;
  const hist = state.history;
  const pts = hist.points;
  const kill = m ? m.kill_factor_bps : null;
  const ratioPts = pts.filter((p) => p.debt_ratio_bps !== null && p.debt_ratio_bps !== undefined);
  drawChart(canvas, {
    series: [
      {
        name: 'equity',
        axis: 'left',
        color: cssVar('--chart-equity') || '#2fbf71',
        fill: 'rgba(47,191,113,0.14)',
        points: pts.map((p) => ({ x: p.time, y: plotWad(p.equity), label: fmtUsd(p.equity) })),
      },
      {
        name: 'debt ratio',
        axis: 'right',
        color: cssVar('--chart-ratio') || '#e5a93b',
        points: ratioPts.map((p) => ({ x: p.time, y: Number(p.debt_ratio_bps), label: fmtBpsPct(p.debt_ratio_bps) })),
      },
    ],
    hlines: kill && ratioPts.length ? [{
      axis: 'right', y: kill, color: cssVar('--chart-kill') || '#ef5350',
      label: `kill ${fmtBpsPct(kill)}`, inRange: true,
    }] : [],
    xLabel: (x, span) => fmtTime(x, span < 7200),
    empty: hist.id === null ? 'no position selected' : hist.loading ? 'loading…' : 'no history yet',
  });
}
