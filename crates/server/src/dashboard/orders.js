// Protection orders: the form, its kinds, and the list.

import { WAD_DIGITS, fmtBpsPct, fmtLeverageBps, fmtPriceText, fmtTime, intOrNull, leverageToBps, parseDecimal } from './format.js';
import { $, busy, el, errorBoxFor, setText, showError } from './dom.js';
import { fmtToken, state, wholeToRaw } from './state.js';
import { api } from './api.js';
import { loadOrdersSoon } from './session.js';
import { isLong, sortedPositions } from './positions.js';

// ---------------------------------------------------------------- orders

export function renderOrderPositions() {
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

export const KIND_DEFAULT_TARGET = { deleverage: '6000', top_up: '6500' };
export function onOrderKind() {
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

export function orderBody() {
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

export async function placeOrder(ev) {
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

export function describeOrder(o) {
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

export function renderOrders() {
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

export async function onOrdersClick(ev) {
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
