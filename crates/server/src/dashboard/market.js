// The market panel (price, pool, rates, feed) and the wallet.

import { WAD_DIGITS, big, fmtBpsPct, fmtLeverageBps, fmtPriceText, fmtRayPct, fmtScaled, fmtTime, parseDecimal, pow10 } from './format.js';
import { $, busy, el, errorBoxFor, setText } from './dom.js';
import { FUND_AMOUNT_WHOLE, PRICE_POINTS_KEPT, decimalsOf, fmtToken, state } from './state.js';
import { api } from './api.js';
import { Quote, drawPriceChart, fixProvisionalPoints, updateCard } from './positions.js';

// ---------------------------------------------------------------- market

export function syncPriceAge(ageSecs) {
  state.keeperAgeSynced = true;
  state.priceAt = ageSecs === null || ageSecs === undefined ? null : Date.now() - ageSecs * 1000;
  renderFeedStatus();
}

export function onMarket(m, fromFetch) {
  const prev = state.market;
  state.market = m;
  const lp = m.last_price || {};
  const newPrice = !prev || !prev.last_price
    || prev.last_price.time !== lp.time
    || prev.last_price.price !== lp.price
    || prev.last_price.source !== lp.source;
  if (newPrice && !fromFetch) {
    state.priceAt = Date.now();
    state.skipped = null;
  }
  if (lp.price) mergePricePoints([{ time: lp.time, price: lp.price }]);
  fixProvisionalPoints(m.time);
  renderOpenForm(m);
  renderMarket();
  if (newPrice && prev && !fromFetch) Quote.refresh();
}

/** The open form speaks the market's tokens and offers its lending venues. */
export function renderOpenForm(m) {
  $('#open-equity-label').textContent = `Equity (${m.stable})`;
  const borrow = $('#open-borrow');
  borrow.options[0].textContent = `${m.stable} (long)`;
  borrow.options[1].textContent = `${m.asset} (short)`;
  const kind = { constant_product: 'x·y=k', v3: 'v3' };
  fillChoices('#open-pool', m.pools || [],
    (p) => `${p.name} · ${kind[p.kind] || p.kind} ${fmtScaled(big(p.fee_bps), 2, 2)}%`);
  fillChoices('#open-venue', m.venues || [],
    (v) => `${v.name} · kill ${fmtScaled(big(v.kill_factor_bps), 2, 2)}%`);
}

/** A select of named choices, kept when they have not changed, shown when there are two or more. */
export function fillChoices(id, choices, label) {
  const select = $(id);
  const names = choices.map((c) => c.name).join('\n');
  if (select.dataset.names !== names) {
    const chosen = select.value;
    select.replaceChildren(...choices.map((c) => {
      const o = document.createElement('option');
      o.value = c.name;
      o.textContent = label(c);
      return o;
    }));
    if (choices.some((c) => c.name === chosen)) select.value = chosen;
    select.dataset.names = names;
  }
  $(`${id}-field`).hidden = choices.length < 2;
}

export function mergePricePoints(points) {
  let changed = false;
  const s = state.priceSeries;
  for (const p of points) {
    if (!p || p.price === undefined || p.price === null || p.time === undefined) continue;
    const y = Number(p.price);
    if (!Number.isFinite(y)) continue;
    const point = { time: p.time, price: String(p.price), y };
    const last = s[s.length - 1];
    if (!last || p.time > last.time) {
      s.push(point);
      changed = true;
      continue;
    }
    // Out of order (seeding from the keeper's reports): insert by time, replace same time.
    let i = s.length - 1;
    while (i >= 0 && s[i].time > p.time) i--;
    if (i >= 0 && s[i].time === p.time) {
      if (s[i].price !== point.price) { s[i] = point; changed = true; }
    } else {
      s.splice(i + 1, 0, point);
      changed = true;
    }
  }
  if (s.length > PRICE_POINTS_KEPT) s.splice(0, s.length - PRICE_POINTS_KEPT);
  if (changed) {
    renderPriceHeader();
    drawPriceChart();
  }
}

export function renderPriceHeader() {
  const m = state.market;
  const priceText = m && m.last_price ? m.last_price.price : null;
  setText($('#price-now'), priceText ? fmtPriceText(priceText, { group: false }) : '—');
  const s = state.priceSeries;
  const ch = $('#price-change');
  if (s.length >= 2 && priceText) {
    const first = parseDecimal(s[0].price, WAD_DIGITS);
    const now = parseDecimal(priceText, WAD_DIGITS);
    if (first && first > 0n && now !== null) {
      const bps = ((now - first) * 1000000n) / first; // 1e-4 %
      setText(ch, `${fmtScaled(bps, 4, 2, { plus: true })}%`);
      ch.className = `change num ${bps > 0n ? 'pos' : bps < 0n ? 'neg' : ''}`;
      ch.title = `since ${fmtTime(s[0].time)} UTC (${fmtPriceText(s[0].price)})`;
      return;
    }
  }
  setText(ch, '');
}

export function feedDescription(feed) {
  if (!feed) return '—';
  switch (feed.kind) {
    case 'replay': return `replay ×${feed.speed}`;
    case 'poll': return `poll every ${fmtScaled(big(feed.interval_ms) ?? 0n, 3, 1)} s`;
    case 'push': return 'push (oracle)';
    default: return String(feed.kind || '—');
  }
}

export function renderMarket() {
  const m = state.market;
  if (!m) return;
  setText($('#pair'), `${m.asset}/${m.stable}`);
  renderPriceHeader();
  setText($('#market-time'), `market time ${fmtTime(m.time)} UTC`);
  const lp = m.last_price || {};
  setText($('#m-oracle'), lp.price ? fmtPriceText(lp.price) : '—');
  $('#m-oracle').title = lp.source ? `${lp.source} at ${fmtTime(lp.time)} UTC` : '';
  const pool = m.pool || {};
  setText($('#m-pool-price'), pool.price ? fmtPriceText(pool.price) : '—');
  const depth = $('#m-depth');
  if (pool.reserve0 !== undefined) {
    depth.replaceChildren(
      el('span', { class: 'line', text: `${fmtToken(pool.reserve0, m.asset, 2)} ${m.asset}` }),
      el('span', { class: 'line', text: `${fmtToken(pool.reserve1, m.stable, 2)} ${m.stable}` }));
    depth.title = pool.kind === 'v3' ? 'in range' : 'reserves';
  } else {
    setText(depth, '—');
  }
  setText($('#m-fee'), pool.fee_bps !== undefined ? `${fmtBpsPct(pool.fee_bps)} · ${pool.kind === 'v3' ? 'v3' : 'x·y=k'}` : '—');
  setText($('#m-feed'), feedDescription(m.feed));
  setText($('#m-kill'), fmtBpsPct(m.kill_factor_bps));
  setText($('#m-work'), fmtBpsPct(m.work_factor_bps));
  const st = m.settings || {};
  setText($('#m-maxlev'), st.max_leverage_bps !== undefined ? fmtLeverageBps(st.max_leverage_bps) : '—');
  setText($('#m-open'), String(m.open_positions ?? '—'));
  const opening = $('#m-opening');
  setText(opening, st.opening_halted ? 'halted' : 'allowed');
  opening.className = st.opening_halted ? 'neg' : 'pos';

  // With several venues, each lending pool says whose it is (the main venue's has no `venue`).
  const venues = (m.venues || []).length > 1;
  const rows = (m.lending || []).map((l) => el('tr', null,
    el('td', { text: venues ? `${l.token} · ${l.venue || 'main'}` : l.token }),
    el('td', { class: 'r', text: fmtRayPct(l.utilization) }),
    el('td', { class: 'r', text: fmtRayPct(l.borrow_rate) }),
    el('td', { class: 'r', text: fmtRayPct(l.supply_rate) }),
    el('td', { class: 'r', text: fmtToken(l.cash, l.token, 2) }),
    el('td', { class: 'r', text: fmtToken(l.total_debt, l.token, 2) }),
  ));
  $('#lending').replaceChildren(...rows);
  renderFeedStatus();
  // The kill factor frames every health bar.
  for (const card of $('#positions').querySelectorAll('.position')) {
    const p = state.positions.get(Number(card.dataset.id));
    if (p) updateCard(card, p);
  }
}

export function renderFeedStatus() {
  const fs = $('#feed-status');
  const m = state.market;
  const note = $('#feed-note');
  if (!m || !state.token) {
    setText(fs, 'no price yet');
    fs.className = 'feed-status';
    note.hidden = true;
    return;
  }
  const limit = (m.settings && m.settings.stale_after_secs) ?? 60;
  const kind = feedDescription(m.feed);
  let text;
  let stale;
  if (state.priceAt === null) {
    stale = state.keeperAgeSynced;
    text = stale ? `stale · no price yet · ${kind}` : kind;
  } else {
    const age = Math.max(0, Math.floor((Date.now() - state.priceAt) / 1000));
    stale = age > limit;
    text = stale ? `stale · no price for ${age} s · ${kind}` : `live · ${kind} · price ${age} s ago`;
  }
  setText(fs, text);
  fs.className = `feed-status ${stale ? 'stale' : 'fresh'}`;
  fs.title = `prices older than ${limit} s are stale: opening is refused and the keepers wait`;
  if (state.skipped) {
    setText(note, `Feed: ${state.skipped.reason}`);
    note.hidden = false;
  } else {
    note.hidden = true;
  }
}

// ---------------------------------------------------------------- wallet

export function renderWallet(w) {
  if (!w) return;
  const first = !state.wallet;
  state.wallet = w;
  if (first || JSON.stringify(w.balances) !== JSON.stringify(renderWallet.last)) Quote.refresh();
  renderWallet.last = w.balances;
  const supplied = new Map(w.supplied || []);
  const rows = (w.balances || []).map(([token, amount]) => el('tr', { dataset: { token } },
    el('td', { text: token }),
    el('td', { class: 'r balance', text: fmtToken(amount, token) }),
    el('td', { class: 'r supplied', text: supplied.has(token) ? fmtToken(supplied.get(token), token) : '—' }),
  ));
  $('#wallet').replaceChildren(el('table', { class: 'table' },
    el('thead', null, el('tr', null,
      el('th', { text: 'Token' }), el('th', { class: 'r', text: 'Balance' }), el('th', { class: 'r', text: 'Supplied' }))),
    el('tbody', null, rows)));
}

export async function fundUsdc(ev) {
  const button = ev.currentTarget;
  const box = errorBoxFor(button);
  const token = (state.market && state.market.stable) || 'USDC';
  await busy(button, box, async () => {
    const decimals = decimalsOf(token);
    if (decimals === null) throw new Error('The market is still loading; try again in a moment.');
    const amount = (FUND_AMOUNT_WHOLE * pow10(decimals)).toString();
    renderWallet(await api('POST', '/v1/fund', { token, amount }));
  });
}
