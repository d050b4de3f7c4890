// Signing in and out, and loading everything a signed-in user sees.

import { $, busy, debounce, el, errorBoxFor, setText, showError, showGlobalError } from './dom.js';
import { KEEPER_REPORTS_KEPT, TOKEN_KEY, state } from './state.js';
import { api } from './api.js';
import { mergePricePoints, onMarket, renderFeedStatus, renderWallet, syncPriceAge } from './market.js';
import { Quote, drawEquityChart, drawPriceChart, ensureSelection, renderPositions } from './positions.js';
import { renderOrders } from './orders.js';
import { applyAlertSettings, renderAlerts, renderKeeper } from './alerts.js';
import { Stream } from './stream.js';
import { loadPortfolio } from './portfolio.js';

// ---------------------------------------------------------------- sign in / out

export function showSignedIn(on) {
  $('#signin-panel').hidden = on;
  $('#app').hidden = !on;
  $('#account-box').hidden = !on;
}

export async function signUp(ev) {
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

export async function signIn(ev) {
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

export function startSession(token, me) {
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

export function signOut(message) {
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

export function resetState() {
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
  state.portfolio = null;
  $('#portfolio').replaceChildren(el('p', { class: 'muted empty', text: 'No positions yet.' }));
  setText($('#portfolio-count'), '');
  $('#orders').replaceChildren();
  $('#alerts').replaceChildren();
  $('#keeper').replaceChildren();
  $('#wallet').replaceChildren(el('p', { class: 'muted', text: '—' }));
  renderFeedStatus();
  drawPriceChart();
  drawEquityChart();
}

// ---------------------------------------------------------------- loading everything

export let refreshing = null;
export async function refreshAll() {
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

export async function loadMe() {
  applyMe(await api('GET', '/v1/me'));
}
export function applyMe(me) {
  state.me = me;
  setText($('#whoami'), me.name);
  setText($('#whoami-detail'), `#${me.id} · ${me.role}`);
  renderWallet(me.wallet);
  if (me.alerts) applyAlertSettings(me.alerts);
}
export async function loadMarket() {
  onMarket(await api('GET', '/v1/market'), true);
}
export async function loadPositions() {
  const list = await api('GET', '/v1/positions');
  const seen = new Set();
  for (const p of list) {
    seen.add(p.id);
    state.positions.set(p.id, p);
  }
  for (const id of [...state.positions.keys()]) if (!seen.has(id)) state.positions.delete(id);
  ensureSelection();
  renderPositions();
  await loadPortfolio();
}
export async function loadOrders() {
  state.orders = await api('GET', '/v1/orders');
  renderOrders();
}
export const loadOrdersSoon = debounce(() => { if (state.token) loadOrders().catch(() => {}); }, 200);
export const loadPositionsSoon = debounce(() => { if (state.token) loadPositions().catch(() => {}); }, 150);
export const loadMeSoon = debounce(() => { if (state.token) loadMe().catch(() => {}); }, 150);
/** After a keeper acted (an order fired, a liquidation): positions, orders and wallet moved. */
export function reloadAfterKeeper() {
  loadPositionsSoon();
  loadOrdersSoon();
  loadMeSoon();
}
export async function loadAlerts() {
  const r = await api('GET', '/v1/alerts');
  state.alerts = r.alerts || [];
  applyAlertSettings(r.settings);
  renderAlerts();
}
export async function loadKeeper() {
  const r = await api('GET', '/v1/keeper');
  state.keeper = (r.reports || []).slice(0, KEEPER_REPORTS_KEPT);
  syncPriceAge(r.price_age_secs);
  mergePricePoints(state.keeper.map((k) => ({ time: k.time, price: k.price })));
  renderKeeper();
}
