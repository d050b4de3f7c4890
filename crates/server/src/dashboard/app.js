// levfarm dashboard. Plain ES2020, no libraries: every amount arrives as a decimal string and
// is formatted with BigInt, so what is shown is derived exactly from what the server sent.
// Floating point is used only to place points on the charts. The modules beside this one hold
// what has no state: exact number formatting (format.js), DOM helpers (dom.js) and the canvas
// charts (chart.js).

import {
  RAY_DIGITS, TEN, WAD_DIGITS, big, fmtBpsPct, fmtLeverageBps, fmtPriceText, fmtPriceWad, fmtRayPct, fmtScaled, fmtTime, fmtUsd, intOrNull, leverageToBps, parseDecimal, plotWad, pow10
} from './format.js';
import { $, busy, clearError, debounce, el, errorBoxFor, setText, showError, showGlobalError } from './dom.js';
import { attachTooltip, cssVar, drawChart, nearestIndex } from './chart.js';

// ---------------------------------------------------------------- constants and state

const TOKEN_KEY = 'levfarm.token';
const SHOWN_DP = { USDC: 2 };            // digits shown per token (others: 4)
const FUND_AMOUNT_WHOLE = 10000n;        // "Fund 10,000 USDC"
const PRICE_POINTS_KEPT = 720;
const HISTORY_POINTS_KEPT = 2000;
const KEEPER_REPORTS_KEPT = 20;
const QUOTE_DEBOUNCE_MS = 250;
const STREAM_IDLE_MS = 45000;            // no byte (not even a keep-alive) for this long: reconnect
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 30000;

const state = {
  token: null,
  me: null,
  market: null,
  wallet: null,
  positions: new Map(),         // id -> position view
  orders: [],
  alerts: [],
  alertSettings: null,
  keeper: [],                   // reports, newest first
  keeperAgeSynced: false,
  priceSeries: [],              // {time, price, y}
  priceAt: null,                // wall-clock ms when the last price arrived (null: none yet)
  skipped: null,                // {reason, at}
  selected: null,               // selected position id
  history: { id: null, points: [], loading: false, buffered: [] },
  connected: false,
};


/** A token's declared decimals, as the market reports them; null before it has. */
function decimalsOf(token) {
  const known = state.market && (state.market.tokens || []).find((t) => t.symbol === token);
  return known ? known.decimals : null;
}
function fmtToken(raw, token, dp) {
  const v = big(raw);
  if (v === null || decimalsOf(token) === null) return '—';
  return fmtScaled(v, decimalsOf(token), dp ?? (SHOWN_DP[token] ?? 4));
}
/** Whole-unit user input ("1000", "2.5") to raw units as a decimal string; null if invalid. */
function wholeToRaw(text, token) {
  const decimals = decimalsOf(token);
  if (decimals === null) return null;
  const v = parseDecimal(text, decimals);
  if (v === null || v < 0n) return null;
  return v.toString();
}
/** "pos"/"neg" for a 1e18 dollar value, by what is shown: $0.00 gets no colour. */
function signClass(s) {
  const v = big(s);
  if (v === null) return '';
  const shown = fmtScaled(v, WAD_DIGITS, 2);
  if (shown.startsWith('-')) return 'neg';
  return /[1-9]/.test(shown) ? 'pos' : '';
}
// ---------------------------------------------------------------- the API

class ApiError extends Error {
  constructor(kind, message, status, field) {
    super(message);
    this.kind = kind;
    this.status = status;
    this.field = field;
  }
}

async function api(method, path, body, opts = {}) {
  const session = state.token;
  const headers = { Accept: 'application/json' };
  const token = opts.token ?? state.token;
  if (token && !opts.anonymous) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError('network', `cannot reach the server (${e.message || e})`, 0);
  }
  const text = await res.text();
  if (!opts.token && !opts.anonymous && state.token !== session) {
    // Signed out (or in as someone else) meanwhile: this answer is not for the page now.
    throw new ApiError('cancelled', 'signed out', 0);
  }
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) {
    const e = (data && data.error) || {};
    let message = e.message || `${res.status} ${res.statusText || 'error'}`;
    if (res.status === 429) {
      const after = res.headers.get('retry-after');
      if (!e.message) message = `too many requests${after ? `; retry in ${after} s` : ''}`;
    }
    const err = new ApiError(e.kind || 'http', message, res.status, e.field);
    if (res.status === 401 && state.token && token === state.token && !opts.anonymous) {
      signOut('Your token was not accepted (it may have been revoked). Sign in again.');
    }
    throw err;
  }
  return data;
}

// ---------------------------------------------------------------- sign in / out

function showSignedIn(on) {
  $('#signin-panel').hidden = on;
  $('#app').hidden = !on;
  $('#account-box').hidden = !on;
}

async function signUp(ev) {
  ev.preventDefault();
  const form = $('#signup-form');
  const box = errorBoxFor(form);
  const name = $('#signup-name').value.trim();
  await busy($('#signup'), box, async () => {
    const r = await api('POST', '/v1/accounts', { name }, { anonymous: true });
    startSession(r.token);
    setText($('#new-token'), r.token);
    $('#token-banner').hidden = false;
    $('#signup-name').value = '';
  });
}

async function signIn(ev) {
  ev.preventDefault();
  const form = $('#signin-form');
  const box = errorBoxFor(form);
  const token = $('#token-input').value.trim();
  if (!token) {
    showError(box, 'Paste a token.');
    return;
  }
  await busy($('#signin'), box, async () => {
    const me = await api('GET', '/v1/me', undefined, { token });
    startSession(token, me);
    $('#token-input').value = '';
  });
}

function startSession(token, me) {
  state.token = token;
  try { localStorage.setItem(TOKEN_KEY, token); } catch { /* private mode: this tab only */ }
  showGlobalError('');
  $('#token-banner').hidden = true;
  showSignedIn(true);
  if (me) applyMe(me);
  refreshAll();
  Stream.start();
  Quote.refresh();
}

function signOut(message) {
  Stream.stop();
  state.token = null;
  try { localStorage.removeItem(TOKEN_KEY); } catch { /* ignore */ }
  resetState();
  showSignedIn(false);
  setText($('#new-token'), '');
  $('#token-banner').hidden = true;
  showGlobalError(typeof message === 'string' ? message : '');
  $('#signup-name').focus();
}

function resetState() {
  state.me = null;
  state.market = null;
  state.wallet = null;
  state.positions.clear();
  state.orders = [];
  state.alerts = [];
  state.alertSettings = null;
  state.keeper = [];
  state.keeperAgeSynced = false;
  state.priceSeries = [];
  state.priceAt = null;
  state.skipped = null;
  state.selected = null;
  state.history = { id: null, points: [], loading: false, buffered: [] };
  Quote.reset();
  setText($('#whoami'), '');
  setText($('#whoami-detail'), '');
  setText($('#price-now'), '—');
  setText($('#price-change'), '');
  $('#positions').replaceChildren(el('p', { class: 'muted empty', text: 'No positions yet.' }));
  $('#orders').replaceChildren();
  $('#alerts').replaceChildren();
  $('#keeper').replaceChildren();
  $('#wallet').replaceChildren(el('p', { class: 'muted', text: '—' }));
  renderFeedStatus();
  drawPriceChart();
  drawEquityChart();
}

// ---------------------------------------------------------------- loading everything

let refreshing = null;
async function refreshAll() {
  if (refreshing) return refreshing;
  refreshing = (async () => {
    const jobs = [loadMe(), loadMarket(), loadPositions(), loadOrders(), loadAlerts(), loadKeeper()];
    const results = await Promise.allSettled(jobs);
    const failed = results.find((r) => r.status === 'rejected');
    if (!state.token) return;
    const real = results.filter((r) => r.status === 'rejected' && r.reason.kind !== 'cancelled');
    if (real.length) showGlobalError(`Could not load everything: ${real[0].reason.message || real[0].reason}`);
    else if (!failed) showGlobalError('');
  })();
  try { await refreshing; } finally { refreshing = null; }
}

async function loadMe() {
  applyMe(await api('GET', '/v1/me'));
}
function applyMe(me) {
  state.me = me;
  setText($('#whoami'), me.name);
  setText($('#whoami-detail'), `#${me.id} · ${me.role}`);
  renderWallet(me.wallet);
  if (me.alerts) applyAlertSettings(me.alerts);
}
async function loadMarket() {
  onMarket(await api('GET', '/v1/market'), true);
}
async function loadPositions() {
  const list = await api('GET', '/v1/positions');
  const seen = new Set();
  for (const p of list) {
    seen.add(p.id);
    state.positions.set(p.id, p);
  }
  for (const id of [...state.positions.keys()]) if (!seen.has(id)) state.positions.delete(id);
  ensureSelection();
  renderPositions();
}
async function loadOrders() {
  state.orders = await api('GET', '/v1/orders');
  renderOrders();
}
const loadOrdersSoon = debounce(() => { if (state.token) loadOrders().catch(() => {}); }, 200);
const loadPositionsSoon = debounce(() => { if (state.token) loadPositions().catch(() => {}); }, 150);
const loadMeSoon = debounce(() => { if (state.token) loadMe().catch(() => {}); }, 150);
/** After a keeper acted (an order fired, a liquidation): positions, orders and wallet moved. */
function reloadAfterKeeper() {
  loadPositionsSoon();
  loadOrdersSoon();
  loadMeSoon();
}
async function loadAlerts() {
  const r = await api('GET', '/v1/alerts');
  state.alerts = r.alerts || [];
  applyAlertSettings(r.settings);
  renderAlerts();
}
async function loadKeeper() {
  const r = await api('GET', '/v1/keeper');
  state.keeper = (r.reports || []).slice(0, KEEPER_REPORTS_KEPT);
  syncPriceAge(r.price_age_secs);
  mergePricePoints(state.keeper.map((k) => ({ time: k.time, price: k.price })));
  renderKeeper();
}

// ---------------------------------------------------------------- market

function syncPriceAge(ageSecs) {
  state.keeperAgeSynced = true;
  state.priceAt = ageSecs === null || ageSecs === undefined ? null : Date.now() - ageSecs * 1000;
  renderFeedStatus();
}

function onMarket(m, fromFetch) {
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
function renderOpenForm(m) {
  $('#open-equity-label').textContent = `Equity (${m.stable})`;
  const borrow = $('#open-borrow');
  borrow.options[0].textContent = `${m.stable} (long)`;
  borrow.options[1].textContent = `${m.asset} (short)`;
  const kind = { constant_product: 'constant product', v3: 'v3' };
  fillChoices('#open-pool', m.pools || [],
    (p) => `${p.name} (${kind[p.kind] || p.kind}, fee ${fmtScaled(big(p.fee_bps), 2, 2)}%)`);
  fillChoices('#open-venue', m.venues || [],
    (v) => `${v.name} (kill factor ${fmtScaled(big(v.kill_factor_bps), 2, 2)}%)`);
}

/** A select of named choices, kept when they have not changed, shown when there are two or more. */
function fillChoices(id, choices, label) {
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

function mergePricePoints(points) {
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

function renderPriceHeader() {
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

function feedDescription(feed) {
  if (!feed) return '—';
  switch (feed.kind) {
    case 'replay': return `replay ×${feed.speed}`;
    case 'poll': return `poll every ${fmtScaled(big(feed.interval_ms) ?? 0n, 3, 1)} s`;
    case 'push': return 'push (oracle)';
    default: return String(feed.kind || '—');
  }
}

function renderMarket() {
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

  const rows = (m.lending || []).map((l) => el('tr', null,
    el('td', { text: l.token }),
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

function renderFeedStatus() {
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

function renderWallet(w) {
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

async function fundUsdc(ev) {
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

// ---------------------------------------------------------------- quote and open

const Quote = (() => {
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

function borrowText(pair) {
  const m = state.market;
  const asset = (m && m.asset) || 'WETH';
  const stable = (m && m.stable) || 'USDC';
  const [b0, b1] = pair || [];
  const parts = [];
  if (big(b0)) parts.push(`${fmtToken(b0, asset)} ${asset}`);
  if (big(b1)) parts.push(`${fmtToken(b1, stable)} ${stable}`);
  return parts.length ? parts.join(' + ') : 'nothing';
}

function renderQuote(q) {
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

async function openPosition(ev) {
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

function isLong(p) {
  const d = p.health && p.health.debt;
  if (!d) return null;
  if (big(d[0])) return false;
  if (big(d[1])) return true;
  return null;
}

function sortedPositions() {
  return [...state.positions.values()].sort((a, b) => (b.open - a.open) || (b.id - a.id));
}

function ensureSelection() {
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

function upsertPosition(view) {
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

function renderPositions() {
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

function buildCard(id) {
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

function healthLevel(ratioBps, killBps) {
  if (!killBps) return 'green';
  const f = ratioBps / killBps;
  if (f >= 0.95) return 'red';
  if (f >= 0.85) return 'amber';
  return 'green';
}

function updateCard(card, p) {
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

function flashCard(id) {
  const card = $(`#positions .position[data-id="${id}"]`);
  if (!card) return;
  card.classList.remove('flash');
  void card.offsetWidth;
  card.classList.add('flash');
}

async function onPositionsClick(ev) {
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

function selectPosition(id) {
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

async function loadHistory(id) {
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
function reloadHistory() {
  const id = state.selected;
  if (id === null) return;
  state.history = { id, points: [], loading: true, buffered: [] };
  loadHistory(id);
}

function addHistoryPoint(view) {
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
function fixProvisionalPoints(marketTime) {
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

function updateHistoryLabel() {
  const id = state.selected;
  const label = $('#history-label');
  if (id === null) { setText(label, 'Select a position.'); return; }
  const p = state.positions.get(id);
  const status = p ? (p.open ? 'open' : `closed: ${p.closed ? p.closed.how : ''}`) : '';
  const n = state.history.points.length;
  setText(label, `Position #${id}${status ? ` · ${status}` : ''}${state.history.loading ? ' · loading…' : ` · ${n} point${n === 1 ? '' : 's'}`}`);
}

function drawPriceChart() {
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

function drawEquityChart() {
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

// ---------------------------------------------------------------- orders

function renderOrderPositions() {
  const sel = $('#order-position');
  const open = sortedPositions().filter((p) => p.open);
  const current = sel.value;
  const wanted = open.map((p) => String(p.id));
  const have = [...sel.options].map((o) => o.value);
  if (wanted.join(',') !== have.join(',') || (!open.length && !sel.options.length)) {
    const asset = (state.market && state.market.asset) || 'WETH';
    sel.replaceChildren(...open.map((p) => {
      const long = isLong(p);
      const side = long === null ? '' : long ? ` · long ${asset}` : ` · short ${asset}`;
      return el('option', { value: String(p.id), text: `#${p.id}${side}` });
    }));
    if (!open.length) sel.append(el('option', { value: '', text: 'no open position', disabled: true, selected: true }));
    if (wanted.includes(current)) sel.value = current;
    else if (state.selected !== null && wanted.includes(String(state.selected))) sel.value = String(state.selected);
  }
}

const KIND_DEFAULT_TARGET = { deleverage: '6000', top_up: '6500' };
function onOrderKind() {
  const kind = $('#order-kind').value;
  for (const f of $('#order-form').querySelectorAll('[data-kinds]')) {
    f.hidden = !f.dataset.kinds.split(' ').includes(kind);
  }
  if (kind === 'stop_loss') $('#order-direction').value = 'below';
  if (kind === 'take_profit') $('#order-direction').value = 'above';
  const target = $('#order-target-bps');
  if (KIND_DEFAULT_TARGET[kind] && Object.values(KIND_DEFAULT_TARGET).includes(target.value)) {
    target.value = KIND_DEFAULT_TARGET[kind];
  }
  const hints = {
    stop_loss: 'Closes the position once when the price crosses the trigger.',
    take_profit: 'Closes the position once when the price crosses the trigger.',
    deleverage: 'When the debt ratio reaches the trigger, removes liquidity and repays debt down to the target. Standing.',
    trailing_stop: 'Closes the position once when the price (or equity) gives back this much from its best since the order was placed.',
    time_limit: 'Closes the position once at a time.',
    rebalance: 'Keeps leverage within target ± band: deleverages above it, borrows more into the position below it. Standing.',
    top_up: 'When the debt ratio reaches the trigger, adds USDC from the wallet (at most the reserve) down to the target.',
    compound: 'Reinvests the farm rewards into the position on a schedule. Standing.',
  };
  setText($('#order-hint'), hints[kind] || '');
  const price = $('#order-price');
  const m = state.market;
  if (m && m.last_price) price.placeholder = fmtPriceText(m.last_price.price, { group: false });
}

function orderBody() {
  const kind = $('#order-kind').value;
  const position = intOrNull($('#order-position').value);
  if (position === null) throw new Error('Choose an open position.');
  const bps = (id, what) => {
    const v = intOrNull($(id).value);
    if (v === null) throw new Error(`${what}: whole basis points, e.g. 7500 for 75%.`);
    return v;
  };
  let order;
  switch (kind) {
    case 'stop_loss':
    case 'take_profit': {
      const text = $('#order-price').value.trim();
      const v = parseDecimal(text, WAD_DIGITS);
      if (v === null || v <= 0n) throw new Error('Price: a positive decimal number, e.g. 700 or 912.5.');
      order = { kind, trigger: { [$('#order-direction').value]: text.replace(/^\+/, '') } };
      break;
    }
    case 'trailing_stop':
      order = { kind, trail: { [$('#order-trail-direction').value]: bps('#order-trail-bps', 'By') } };
      break;
    case 'time_limit': {
      const hours = Number($('#order-hours').value.trim());
      if (!(hours > 0) || !state.market) throw new Error('Close after: a number of hours above 0, e.g. 168.');
      order = { kind, at: Number(state.market.time) + Math.round(hours * 3600) };
      break;
    }
    case 'compound': {
      const hours = Number($('#order-every-hours').value.trim());
      if (!(hours > 0)) throw new Error('Every: a number of hours above 0, e.g. 24.');
      order = { kind, every_seconds: Math.round(hours * 3600) };
      break;
    }
    case 'deleverage':
      order = { kind, trigger_bps: bps('#order-trigger-bps', 'Trigger'), target_bps: bps('#order-target-bps', 'Target') };
      break;
    case 'rebalance': {
      const text = $('#order-target-leverage').value.trim();
      // "3" or "2.5" are times; a large whole number is taken as bps already (30000).
      let lev = /^\d{3,}$/.test(text) ? BigInt(text) : leverageToBps(text);
      if (lev === null || lev <= 0n) throw new Error('Target leverage: a number of times like 3 or 2.5.');
      order = { kind, target_leverage_bps: Number(lev), band_bps: bps('#order-band-bps', 'Band') };
      break;
    }
    case 'top_up': {
      const stable = (state.market && state.market.stable) || 'USDC';
      const reserve = wholeToRaw($('#order-reserve').value, stable);
      if (reserve === null) throw new Error(`Reserve: an amount of ${stable}, e.g. 1000.`);
      order = { kind, trigger_bps: bps('#order-trigger-bps', 'Trigger'), target_bps: bps('#order-target-bps', 'Target'), reserve };
      break;
    }
    default:
      throw new Error('Choose an order kind.');
  }
  return { position, order };
}

async function placeOrder(ev) {
  ev.preventDefault();
  const box = errorBoxFor($('#order-form'));
  let body;
  try { body = orderBody(); } catch (e) { showError(box, e); return; }
  await busy($('#place-order'), box, async () => {
    const o = await api('POST', '/v1/orders', body);
    state.orders = [o, ...state.orders.filter((x) => x.id !== o.id)];
    renderOrders();
    loadOrdersSoon();
  });
}

function describeOrder(o) {
  const k = o.order || {};
  const stable = (state.market && state.market.stable) || 'USDC';
  switch (k.kind) {
    case 'stop_loss':
    case 'take_profit': {
      const t = k.trigger || {};
      const name = k.kind === 'stop_loss' ? 'stop loss' : 'take profit';
      if (t.equity_loss_bps !== undefined) return `${name} at equity −${fmtBpsPct(t.equity_loss_bps)}`;
      if (t.equity_gain_bps !== undefined) return `${name} at equity +${fmtBpsPct(t.equity_gain_bps)}`;
      const dir = t.below !== undefined ? 'below' : 'above';
      return `${name} at or ${dir} ${fmtPriceText(t[dir])}`;
    }
    case 'trailing_stop': {
      const t = k.trail || {};
      if (t.price_fall_bps !== undefined) return `trailing stop ${fmtBpsPct(t.price_fall_bps)} under the high`;
      if (t.price_rise_bps !== undefined) return `trailing stop ${fmtBpsPct(t.price_rise_bps)} over the low`;
      return `trailing stop: equity ${fmtBpsPct(t.equity_fall_bps)} under its high`;
    }
    case 'time_limit':
      return `close at ${fmtTime(k.at)}`;
    case 'compound':
      return `compound every ${k.every_seconds / 3600} h`;
    case 'recenter':
      return 're-centre the range when out of it';
    case 'deleverage':
      return `deleverage at ${fmtBpsPct(k.trigger_bps)} debt ratio → ${fmtBpsPct(k.target_bps)}`;
    case 'rebalance':
      return `rebalance to ${fmtLeverageBps(k.target_leverage_bps)} ± ${fmtBpsPct(k.band_bps)}`;
    case 'top_up': {
      let s = `top up at ${fmtBpsPct(k.trigger_bps)} → ${fmtBpsPct(k.target_bps)}, reserve ${fmtToken(k.reserve, stable)} ${stable}`;
      if (o.reserve_left !== undefined && o.reserve_left !== null) s += ` (${fmtToken(o.reserve_left, stable)} left)`;
      return s;
    }
    default:
      return JSON.stringify(k);
  }
}

function renderOrders() {
  const body = $('#orders');
  if (!state.orders.length) {
    body.replaceChildren(el('tr', { class: 'empty' }, el('td', { colspan: '8', text: 'No orders yet.' })));
    return;
  }
  const rows = state.orders.map((o) => el('tr', { class: `order${o.status === 'active' ? '' : ' inactive'}`, dataset: { id: String(o.id), position: String(o.position) } },
    el('td', { class: 'num', text: String(o.id) }),
    el('td', { class: 'num', text: `#${o.position}` }),
    el('td', { text: describeOrder(o) }),
    el('td', { class: 'num', text: fmtTime(o.placed_at) }),
    el('td', null, el('span', { class: `order-status ${o.status}`, text: o.status })),
    el('td', { class: 'r', text: String(o.fired ?? 0) }),
    el('td', { class: 'note', text: o.last_note || '' }),
    el('td', { class: 'r' }, o.status === 'active'
      ? el('button', { type: 'button', class: 'cancel ghost small', text: 'Cancel', dataset: { id: String(o.id) } })
      : null),
  ));
  body.replaceChildren(...rows);
}

async function onOrdersClick(ev) {
  const button = ev.target.closest('button.cancel');
  if (!button) return;
  const id = button.dataset.id;
  const box = errorBoxFor($('#order-form'));
  await busy(button, box, async () => {
    const o = await api('DELETE', `/v1/orders/${id}`);
    state.orders = state.orders.map((x) => (x.id === o.id ? o : x));
    renderOrders();
  });
}

// ---------------------------------------------------------------- alerts

function applyAlertSettings(s) {
  if (!s) return;
  state.alertSettings = s;
  const form = $('#alerts-form');
  if (form.contains(document.activeElement)) return; // do not overwrite what is being typed
  $('#alert-ratio').value = s.debt_ratio_bps ?? '';
  $('#alert-distance').value = s.distance_bps ?? '';
  $('#alert-webhook').value = s.webhook ?? '';
}

async function saveAlerts(ev) {
  ev.preventDefault();
  const box = errorBoxFor($('#alerts-form'));
  const read = (id, what) => {
    const t = $(id).value.trim();
    if (!t) return null;
    const v = intOrNull(t);
    if (v === null) throw new Error(`${what}: whole basis points (7000 is 70%), or empty for off.`);
    return v;
  };
  let body;
  try {
    const webhook = $('#alert-webhook').value.trim();
    body = {
      debt_ratio_bps: read('#alert-ratio', 'Debt ratio'),
      distance_bps: read('#alert-distance', 'Distance'),
      webhook: webhook || null,
    };
  } catch (e) { showError(box, e); return; }
  await busy($('#save-alerts'), box, async () => {
    const s = await api('PUT', '/v1/alerts/settings', body);
    document.activeElement && document.activeElement.blur && document.activeElement.blur();
    applyAlertSettings(s);
    const saved = $('#alerts-saved');
    saved.hidden = false;
    clearTimeout(saveAlerts.t);
    saveAlerts.t = setTimeout(() => { saved.hidden = true; }, 2500);
  });
}

function alertItem(a, fresh) {
  return el('li', { class: `alert${fresh ? ' fresh' : ''}`, dataset: { id: String(a.id), kind: a.kind } },
    el('span', { class: `kind ${a.kind}`, text: a.kind.replace(/_/g, ' ') }),
    el('span', { class: 'meta' }, `${fmtTime(a.time)} UTC`, a.position !== null && a.position !== undefined ? ` · position #${a.position}` : ''),
    el('span', { class: 'msg', text: a.message }));
}

function renderAlerts() {
  const list = $('#alerts');
  if (!state.alerts.length) {
    list.replaceChildren(el('li', { class: 'empty', text: 'No alerts.' }));
    return;
  }
  list.replaceChildren(...state.alerts.map((a) => alertItem(a, false)));
}

function onAlert(a) {
  if (state.alerts.some((x) => x.id === a.id)) return;
  state.alerts.unshift(a);
  state.alerts.sort((x, y) => (y.time - x.time) || (y.id - x.id));
  const list = $('#alerts');
  const empty = list.querySelector('.empty');
  if (empty) empty.remove();
  if (state.alerts[0] === a) list.prepend(alertItem(a, true));
  else renderAlerts();
  reloadAfterKeeper();
}

// ---------------------------------------------------------------- keeper log

function mineLine(line) {
  return line.position === undefined || line.position === null || state.positions.has(line.position);
}

function onKeeper(report) {
  // Lines about other accounts' positions are not this dashboard's to show.
  const lines = report.lines || [];
  const mine = lines.filter(mineLine);
  const r = { ...report, lines: mine, other_accounts_lines: (report.other_accounts_lines || 0) + (lines.length - mine.length) };
  state.keeper = [r, ...state.keeper.filter((k) => !(k.time === r.time && k.price === r.price))].slice(0, KEEPER_REPORTS_KEPT);
  renderKeeper();
  if (mine.some((l) => l.step !== 'accrue' && l.outcome === 'acted')) reloadAfterKeeper();
  else loadOrdersSoon();
}

function renderKeeper() {
  const box = $('#keeper');
  if (!state.keeper.length) {
    box.replaceChildren(el('p', { class: 'empty', text: 'No keeper reports yet.' }));
    return;
  }
  box.replaceChildren(...state.keeper.map((r) => {
    const lines = (r.lines || []).filter(mineLine);
    const routineOnly = lines.every((l) => l.step === 'accrue');
    const items = lines.map((l) => el('li', { class: `line ${l.step === 'accrue' ? 'routine' : ''}`, dataset: { step: l.step, outcome: l.outcome } },
      el('span', { class: 'step', text: l.step }),
      el('span', { class: `outcome ${l.outcome}`, text: l.outcome }),
      (l.position !== undefined || l.order !== undefined)
        ? el('span', { class: 'ref', text: [l.position !== undefined ? `#${l.position}` : '', l.order !== undefined ? `order ${l.order}` : ''].filter(Boolean).join(' · ') })
        : null,
      el('span', { class: 'detail', text: l.detail })));
    if (r.other_accounts_lines) {
      items.push(el('li', { class: 'line routine' }, el('span', { class: 'step', text: '' }), el('span', { class: 'detail', text: `${r.other_accounts_lines} line(s) about other accounts` })));
    }
    return el('div', { class: `report${routineOnly ? ' routine-only' : ''}` },
      el('div', { class: 'report-head' }, `${fmtTime(r.time)} · `, el('b', { text: fmtPriceText(r.price) }), el('div', { class: 'small', text: r.source })),
      el('ul', { class: 'report-lines' }, items));
  }));
}

// ---------------------------------------------------------------- live updates (SSE over fetch)

const Stream = (() => {
  let ctrl = null;
  let gen = 0;                 // bumps on every start/stop: a stale loop notices and exits
  let attempt = 0;
  let retryTimer = null;
  let countdown = null;
  let lastByte = 0;
  let watchdog = null;
  let hellos = 0;              // per start(): the first hello follows a full load already

  function setConn(text, cls) {
    const c = $('#conn');
    setText(c, text);
    c.className = `conn ${cls || ''}`;
  }

  function start() {
    stop();
    const mine = ++gen;
    hellos = 0;
    watchdog = setInterval(() => {
      if (ctrl && lastByte && Date.now() - lastByte > STREAM_IDLE_MS) ctrl.abort(); // silent stream: reconnect
    }, 5000);
    connect(mine);
  }

  function stop() {
    gen++;
    if (ctrl) ctrl.abort();
    ctrl = null;
    clearTimeout(retryTimer);
    clearInterval(countdown);
    clearInterval(watchdog);
    retryTimer = countdown = watchdog = null;
    attempt = 0;
    state.connected = false;
    setConn('offline', '');
  }

  async function connect(mine) {
    if (mine !== gen || !state.token) return;
    ctrl = new AbortController();
    const myCtrl = ctrl;
    setConn(attempt ? 'reconnecting…' : 'connecting…', 'waiting');
    let reason = 'the stream ended';
    try {
      const res = await fetch('/v1/events', {
        headers: { Authorization: `Bearer ${state.token}`, Accept: 'text/event-stream' },
        signal: myCtrl.signal,
        cache: 'no-store',
      });
      if (res.status === 401) {
        signOut('Your token was not accepted (it may have been revoked). Sign in again.');
        return;
      }
      if (!res.ok || !res.body) {
        let msg = `HTTP ${res.status}`;
        try { const j = await res.json(); if (j && j.error) msg = j.error.message; } catch { /* not JSON */ }
        throw new Error(msg);
      }
      lastByte = Date.now();
      await read(res.body.getReader(), mine);
    } catch (e) {
      if (mine !== gen) return; // stopped on purpose
      reason = myCtrl.signal.aborted ? 'no data for a while' : (e.message || String(e));
    }
    if (mine !== gen) return;
    state.connected = false;
    schedule(mine, reason);
  }

  /** Reads the byte stream and dispatches each complete event. */
  async function read(reader, mine) {
    const decoder = new TextDecoder();
    let buf = '';
    let type = '';
    let data = [];
    for (;;) {
      const { value, done } = await reader.read();
      if (mine !== gen) { reader.cancel().catch(() => {}); return; }
      if (done) return;
      lastByte = Date.now();
      buf += decoder.decode(value, { stream: true });
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        let line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.endsWith('\r')) line = line.slice(0, -1);
        if (line === '') {
          if (data.length) dispatch(type || 'message', data.join('\n'));
          type = '';
          data = [];
          continue;
        }
        if (line.startsWith(':')) continue; // keep-alive comment
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let val = colon < 0 ? '' : line.slice(colon + 1);
        if (val.startsWith(' ')) val = val.slice(1);
        if (field === 'event') type = val;
        else if (field === 'data') data.push(val);
        // `id` and `retry` are not used: every reconnect reads the whole state again.
      }
    }
  }

  function schedule(mine, reason) {
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** attempt);
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    attempt += 1;
    const until = Date.now() + delay;
    const tick = () => {
      const s = Math.max(0, Math.ceil((until - Date.now()) / 1000));
      setConn(`reconnecting in ${s} s`, 'waiting');
      $('#conn').title = `live updates lost: ${reason}`;
    };
    tick();
    clearInterval(countdown);
    countdown = setInterval(tick, 1000);
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => {
      clearInterval(countdown);
      countdown = null;
      connect(mine);
    }, delay);
    renderFeedStatus();
  }

  function dispatch(type, text) {
    let payload = null;
    try { payload = text ? JSON.parse(text) : null; } catch { payload = text; }
    try {
      handleEvent(type, payload);
    } catch (e) {
      console.error('levfarm: event', type, e);
    }
  }

  function handleEvent(type, d) {
    switch (type) {
      case 'hello':
        attempt = 0;
        state.connected = true;
        setConn('live', 'live');
        $('#conn').title = 'live updates';
        if (d && d.market) onMarket(d.market, true);
        // Whatever happened while not connected: read it all again.
        refreshAll();
        if (hellos++ > 0) reloadHistory();
        break;
      case 'market':
        onMarket(d, false);
        break;
      case 'keeper':
        onKeeper(d);
        break;
      case 'position':
        upsertPosition(d);
        break;
      case 'wallet':
        renderWallet(d);
        break;
      case 'alert':
        onAlert(d);
        break;
      case 'skipped':
        state.skipped = { reason: (d && d.reason) || 'skipped', at: Date.now() };
        renderFeedStatus();
        loadMarket().catch(() => {});
        break;
      case 'lagged':
        refreshAll();
        reloadHistory();
        break;
      case 'shutdown':
        setConn('server stopping', 'waiting');
        break;
      default:
        break;
    }
  }

  return { start, stop };
})();

// ---------------------------------------------------------------- wiring

function init() {
  $('#signup-form').addEventListener('submit', signUp);
  $('#signin-form').addEventListener('submit', signIn);
  $('#signout').addEventListener('click', () => signOut(''));
  $('#fund-usdc').addEventListener('click', fundUsdc);
  $('#open-form').addEventListener('submit', openPosition);
  for (const id of ['#open-equity', '#open-leverage']) $(id).addEventListener('input', () => Quote.soon());
  $('#open-borrow').addEventListener('change', () => Quote.soon());
  $('#open-venue').addEventListener('change', () => Quote.soon());
  $('#open-pool').addEventListener('change', () => Quote.soon());
  $('#positions').addEventListener('click', onPositionsClick);
  $('#positions').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && ev.target.classList.contains('position')) selectPosition(Number(ev.target.dataset.id));
  });
  $('#order-kind').addEventListener('change', onOrderKind);
  $('#order-form').addEventListener('submit', placeOrder);
  $('#orders').addEventListener('click', onOrdersClick);
  $('#alerts-form').addEventListener('submit', saveAlerts);
  $('#keeper-quiet').addEventListener('change', (ev) => $('#keeper').classList.toggle('quiet', ev.target.checked));
  $('#copy-token').addEventListener('click', async () => {
    const t = $('#new-token').textContent;
    try {
      await navigator.clipboard.writeText(t);
      setText($('#copy-token'), 'Copied');
    } catch {
      const r = document.createRange();
      r.selectNodeContents($('#new-token'));
      const s = window.getSelection();
      s.removeAllRanges();
      s.addRange(r);
      setText($('#copy-token'), 'Selected');
    }
  });
  $('#dismiss-token').addEventListener('click', () => {
    $('#token-banner').hidden = true;
    setText($('#new-token'), '');
  });

  attachTooltip($('#price-chart'), drawPriceChart);
  attachTooltip($('#equity-chart'), drawEquityChart);
  const redraw = () => { drawPriceChart(); drawEquityChart(); };
  if (window.ResizeObserver) {
    const ro = new ResizeObserver(debounce(redraw, 60));
    ro.observe($('#price-chart').parentElement);
    ro.observe($('#equity-chart').parentElement);
  } else {
    window.addEventListener('resize', debounce(redraw, 100));
  }
  setInterval(renderFeedStatus, 1000);
  // The keepers' clock is the server's: correct the local price age now and then, and read
  // the market again (a feed change sends no event).
  setInterval(() => {
    if (!state.token) return;
    api('GET', '/v1/keeper').then((r) => syncPriceAge(r.price_age_secs)).catch(() => {});
    loadMarket().catch(() => {});
  }, 15000);

  onOrderKind();
  renderOrders();
  let token = null;
  try { token = localStorage.getItem(TOKEN_KEY); } catch { token = null; }
  if (token) {
    startSession(token);
  } else {
    showSignedIn(false);
    renderFeedStatus();
  }
  Quote.refresh();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
else init();
