// The portfolio panel: the account's positions as one (GET /v1/portfolio): equity, wallet,
// profit and loss summed part by part, total debt ratio and drawdown, exposure per token and
// per venue. Every figure is the server's exact decimal text, formatted with BigInt.

import { fmtBpsPct, fmtUsd } from './format.js';
import { $, debounce, el, setText } from './dom.js';
import { fmtToken, state } from './state.js';
import { api } from './api.js';

export function renderPortfolio(p) {
  state.portfolio = p;
  const box = $('#portfolio');
  if (!p || !p.positions) {
    setText($('#portfolio-count'), '');
    box.replaceChildren(el('p', { class: 'muted empty', text: 'No positions yet.' }));
    return;
  }
  setText($('#portfolio-count'), `${p.open} open of ${p.positions}`);
  const kv = (label, value, cls) => el('div', {}, el('dt', { text: label }), el('dd', { class: `num ${cls || ''}`, text: value }));
  const sign = (s) => (s.startsWith('-') ? 'neg' : s === '0' ? '' : 'pos');
  const figures = el('dl', { class: 'kv portfolio-kv' },
    kv('Total equity', fmtUsd(p.total_equity)),
    kv('In positions', fmtUsd(p.equity)),
    kv('Wallet and supply', fmtUsd(p.wallet_value)),
    kv('Put in', fmtUsd(p.contributed)),
    kv('Profit and loss', fmtUsd(p.pnl.total, { plus: true }), sign(p.pnl.total)),
    kv('Debt ratio', p.debt_ratio_bps === undefined ? '—' : fmtBpsPct(p.debt_ratio_bps)),
    kv('Drawdown from best', fmtBpsPct(p.drawdown_bps)));
  const assets = el('table', { class: 'table portfolio-assets' },
    el('thead', {}, el('tr', {}, el('th', { text: 'Token' }), el('th', { class: 'r', text: 'Held' }), el('th', { class: 'r', text: 'Owed' }), el('th', { class: 'r', text: 'Net value' }))),
    el('tbody', {}, ...p.assets.map((a) => el('tr', { dataset: { token: a.token } },
      el('td', { text: a.token }),
      el('td', { class: 'r', text: fmtToken(a.held, a.token) }),
      el('td', { class: 'r', text: fmtToken(a.owed, a.token) }),
      el('td', { class: `r ${sign(a.net_value)}`, text: fmtUsd(a.net_value, { plus: true }) })))));
  const venues = el('table', { class: 'table portfolio-venues' },
    el('thead', {}, el('tr', {}, el('th', { text: 'Venue' }), el('th', { class: 'r', text: 'Positions' }), el('th', { class: 'r', text: 'Value' }), el('th', { class: 'r', text: 'Debt' }), el('th', { class: 'r', text: 'Equity' }), el('th', { class: 'r', text: 'Debt ratio' }))),
    el('tbody', {}, ...(p.venues.length ? p.venues.map((v) => el('tr', { dataset: { venue: v.venue } },
      el('td', { text: v.venue }),
      el('td', { class: 'r', text: String(v.positions) }),
      el('td', { class: 'r', text: fmtUsd(v.value) }),
      el('td', { class: 'r', text: fmtUsd(v.debt_value) }),
      el('td', { class: 'r', text: fmtUsd(v.equity) }),
      el('td', { class: 'r', text: v.debt_ratio_bps === undefined ? '—' : fmtBpsPct(v.debt_ratio_bps) })))
      : [el('tr', {}, el('td', { class: 'muted', text: 'No open positions.' }))])));
  const parts = el('table', { class: 'table portfolio-pnl' },
    el('tbody', {}, ...p.pnl.parts.filter(([, v]) => v !== '0').map(([name, v]) => el('tr', {},
      el('td', { text: name }), el('td', { class: `r ${sign(v)}`, text: fmtUsd(v, { plus: true }) })))));
  box.replaceChildren(figures, el('div', { class: 'portfolio-tables' }, assets, venues), parts);
}

export async function loadPortfolio() {
  renderPortfolio(await api('GET', '/v1/portfolio'));
}

/** After a position changed (a price update, an action): the portfolio moved with it. */
export const loadPortfolioSoon = debounce(() => { if (state.token) loadPortfolio().catch(() => {}); }, 150);
