// Constants and the dashboard's state, with the formatting that needs the market's tokens.

import { WAD_DIGITS, big, fmtScaled, parseDecimal } from './format.js';

// ---------------------------------------------------------------- constants and state

export const TOKEN_KEY = 'levfarm.token';
export const SHOWN_DP = { USDC: 2 };            // digits shown per token (others: 4)
export const FUND_AMOUNT_WHOLE = 10000n;        // "Fund 10,000 USDC"
export const PRICE_POINTS_KEPT = 720;
export const HISTORY_POINTS_KEPT = 2000;
export const KEEPER_REPORTS_KEPT = 20;
export const QUOTE_DEBOUNCE_MS = 250;
export const STREAM_IDLE_MS = 45000;            // no byte (not even a keep-alive) for this long: reconnect
export const BACKOFF_MIN_MS = 1000;
export const BACKOFF_MAX_MS = 30000;

export const state = {
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
  portfolio: null,              // GET /v1/portfolio
  connected: false,
};

/** A token's declared decimals, as the market reports them; null before it has. */
export function decimalsOf(token) {
  const known = state.market && (state.market.tokens || []).find((t) => t.symbol === token);
  return known ? known.decimals : null;
}
export function fmtToken(raw, token, dp) {
  const v = big(raw);
  if (v === null || decimalsOf(token) === null) return '—';
  return fmtScaled(v, decimalsOf(token), dp ?? (SHOWN_DP[token] ?? 4));
}
/** Whole-unit user input ("1000", "2.5") to raw units as a decimal string; null if invalid. */
export function wholeToRaw(text, token) {
  const decimals = decimalsOf(token);
  if (decimals === null) return null;
  const v = parseDecimal(text, decimals);
  if (v === null || v < 0n) return null;
  return v.toString();
}
/** "pos"/"neg" for a 1e18 dollar value, by what is shown: $0.00 gets no colour. */
export function signClass(s) {
  const v = big(s);
  if (v === null) return '';
  const shown = fmtScaled(v, WAD_DIGITS, 2);
  if (shown.startsWith('-')) return 'neg';
  return /[1-9]/.test(shown) ? 'pos' : '';
}
