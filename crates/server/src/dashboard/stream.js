// Live updates: server-sent events over fetch, with reconnection.

import { $, setText } from './dom.js';
import { BACKOFF_MAX_MS, BACKOFF_MIN_MS, STREAM_IDLE_MS, state } from './state.js';
import { loadMarket, refreshAll, signOut } from './session.js';
import { onMarket, renderFeedStatus, renderWallet } from './market.js';
import { reloadHistory, upsertPosition } from './positions.js';
import { loadPortfolioSoon } from './portfolio.js';
import { onAlert, onKeeper } from './alerts.js';

// ---------------------------------------------------------------- live updates (SSE over fetch)

export const Stream = (() => {
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
        loadPortfolioSoon();
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
