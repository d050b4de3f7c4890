// levfarm dashboard. Plain ES2020, no libraries: every amount arrives as a decimal string and
// is formatted with BigInt, so what is shown is derived exactly from what the server sent.
// Floating point is used only to place points on the charts. This module wires the page; the
// modules beside it hold the state (state.js), the API (api.js), the session (session.js), a
// module per panel (market.js, positions.js, orders.js, alerts.js, stream.js) and what has no
// state: exact number formatting (format.js), DOM helpers (dom.js), canvas charts (chart.js).

import { $, debounce, setText } from './dom.js';
import { attachTooltip } from './chart.js';
import { TOKEN_KEY, state } from './state.js';
import { api } from './api.js';
import { loadMarket, showSignedIn, signIn, signOut, signUp, startSession } from './session.js';
import { fundUsdc, renderFeedStatus, syncPriceAge } from './market.js';
import { Quote, drawEquityChart, drawPriceChart, onPositionsClick, openPosition, selectPosition } from './positions.js';
import { onOrderKind, onOrdersClick, placeOrder, renderOrders } from './orders.js';
import { saveAlerts } from './alerts.js';

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
