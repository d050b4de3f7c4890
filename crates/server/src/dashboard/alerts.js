// Alerts and their settings, and the keeper log.

import { fmtPriceText, fmtTime, intOrNull } from './format.js';
import { $, busy, el, errorBoxFor, showError } from './dom.js';
import { KEEPER_REPORTS_KEPT, state } from './state.js';
import { api } from './api.js';
import { loadOrdersSoon, reloadAfterKeeper } from './session.js';

// ---------------------------------------------------------------- alerts

export function applyAlertSettings(s) {
  if (!s) return;
  state.alertSettings = s;
  const form = $('#alerts-form');
  if (form.contains(document.activeElement)) return; // do not overwrite what is being typed
  $('#alert-ratio').value = s.debt_ratio_bps ?? '';
  $('#alert-distance').value = s.distance_bps ?? '';
  $('#alert-portfolio-ratio').value = s.portfolio_debt_ratio_bps ?? '';
  $('#alert-portfolio-drawdown').value = s.portfolio_drawdown_bps ?? '';
  $('#alert-webhook').value = s.webhook ?? '';
}

export async function saveAlerts(ev) {
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
      portfolio_debt_ratio_bps: read('#alert-portfolio-ratio', 'Portfolio debt ratio'),
      portfolio_drawdown_bps: read('#alert-portfolio-drawdown', 'Portfolio drawdown'),
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

export function alertItem(a, fresh) {
  return el('li', { class: `alert${fresh ? ' fresh' : ''}`, dataset: { id: String(a.id), kind: a.kind } },
    el('span', { class: `kind ${a.kind}`, text: a.kind.replace(/_/g, ' ') }),
    el('span', { class: 'meta' }, `${fmtTime(a.time)} UTC`, a.position !== null && a.position !== undefined ? ` · position #${a.position}` : ''),
    el('span', { class: 'msg', text: a.message }));
}

export function renderAlerts() {
  const list = $('#alerts');
  if (!state.alerts.length) {
    list.replaceChildren(el('li', { class: 'empty', text: 'No alerts.' }));
    return;
  }
  list.replaceChildren(...state.alerts.map((a) => alertItem(a, false)));
}

export function onAlert(a) {
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

export function mineLine(line) {
  return line.position === undefined || line.position === null || state.positions.has(line.position);
}

export function onKeeper(report) {
  // Lines about other accounts' positions are not this dashboard's to show.
  const lines = report.lines || [];
  const mine = lines.filter(mineLine);
  const r = { ...report, lines: mine, other_accounts_lines: (report.other_accounts_lines || 0) + (lines.length - mine.length) };
  state.keeper = [r, ...state.keeper.filter((k) => !(k.time === r.time && k.price === r.price))].slice(0, KEEPER_REPORTS_KEPT);
  renderKeeper();
  if (mine.some((l) => l.step !== 'accrue' && l.outcome === 'acted')) reloadAfterKeeper();
  else loadOrdersSoon();
}

export function renderKeeper() {
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
