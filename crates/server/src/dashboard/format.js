// Exact number formatting for the dashboard: every amount arrives as a decimal string and is
// formatted with BigInt, so what is shown is derived exactly from what the server sent.

export const WAD_DIGITS = 18;                   // 1e18-scaled values: prices, numeraire dollars
export const RAY_DIGITS = 27;                   // 1e27 = 100%


export const TEN = 10n;
export const pow10 = (n) => TEN ** BigInt(n);

/** A BigInt from an integer decimal string (or number/BigInt); null when it is not one. */
export function big(v) {
  if (v === null || v === undefined || v === '') return null;
  if (typeof v === 'bigint') return v;
  try { return BigInt(String(v).trim()); } catch { return null; }
}

/**
 * Parses a decimal string ("735.21", "-1.5", "1000") into a BigInt scaled by 10^scale.
 * Returns null when the text is not a plain decimal or has more than `scale` fraction digits.
 */
export function parseDecimal(text, scale) {
  const m = /^\s*([+-]?)(\d*)(?:\.(\d*))?\s*$/.exec(String(text ?? ''));
  if (!m) return null;
  const whole = m[2] || '';
  const frac = m[3] || '';
  if (!whole && !frac) return null;
  if (frac.length > scale) return null;
  const v = BigInt((whole || '0') + frac.padEnd(scale, '0'));
  return m[1] === '-' ? -v : v;
}

/**
 * Formats a BigInt scaled by 10^scale with `dp` decimals, rounding half away from zero.
 * Options: group (thousands separators, default true), plus (a "+" on positive values).
 */
export function fmtScaled(v, scale, dp, opts = {}) {
  const { group = true, plus = false } = opts;
  if (v === null || v === undefined) return '—';
  let neg = v < 0n;
  let a = neg ? -v : v;
  if (dp < scale) {
    const d = pow10(scale - dp);
    a = (a + d / 2n) / d;
  } else if (dp > scale) {
    a *= pow10(dp - scale);
  }
  if (a === 0n) neg = false;
  const s = a.toString().padStart(dp + 1, '0');
  let int = s.slice(0, s.length - dp);
  const frac = s.slice(s.length - dp);
  if (group) int = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return (neg ? '-' : plus && a > 0n ? '+' : '') + int + (dp > 0 ? '.' + frac : '');
}

/** A price given as a decimal string ("735.21", up to 18 decimals) with 2 decimals. */
export function fmtPriceText(text, opts) {
  const v = parseDecimal(text, WAD_DIGITS);
  return v === null ? '—' : fmtScaled(v, WAD_DIGITS, 2, opts);
}
/** A 1e18-scaled price given as an integer string; "—" when null. */
export function fmtPriceWad(s, opts) {
  const v = big(s);
  return v === null ? '—' : fmtScaled(v, WAD_DIGITS, 2, opts);
}
/** 1e18-scaled dollars as "$1,234.56" / "-$9.04". */
export function fmtUsd(s, opts = {}) {
  const v = big(s);
  if (v === null) return '—';
  const body = fmtScaled(v < 0n ? -v : v, WAD_DIGITS, 2);
  const sign = v < 0n && body !== '0.00' ? '-' : opts.plus && v > 0n && body !== '0.00' ? '+' : '';
  return `${sign}$${body}`;
}
export function fmtBpsPct(bps, dp = 2) {
  const v = big(bps);
  return v === null ? '—' : fmtScaled(v, 2, dp) + '%';
}
export function fmtRayPct(ray) {
  const v = big(ray);
  if (v === null) return '—';
  const text = fmtScaled(v, RAY_DIGITS - 2, 2);
  // Tiny but not zero: say so rather than print a misleading 0.00%.
  if (v > 0n && text === '0.00') return '<0.01%';
  return text + '%';
}
export function fmtLeverageBps(bps) {
  const v = big(bps);
  return v === null ? '—' : fmtScaled(v, 4, 2) + 'x';
}
/** Float for plotting only. */
export function plotWad(s) {
  const v = big(s);
  if (v === null) return NaN;
  return Number(v / 10n ** 12n) / 1e6;
}

/** Market time (Unix seconds) as "2018-05-15 09:00" UTC. */
export function fmtTime(secs, withSeconds = false) {
  if (secs === null || secs === undefined) return '—';
  const d = new Date(Number(secs) * 1000);
  if (Number.isNaN(d.getTime())) return String(secs);
  const iso = d.toISOString();
  return iso.slice(0, 10) + ' ' + iso.slice(11, withSeconds ? 19 : 16);
}

/** Leverage text ("3", "2.5", "3x") to bps; null if invalid. */
export function leverageToBps(text) {
  const t = String(text ?? '').trim().replace(/[xX]$/, '');
  const v = parseDecimal(t, 4);
  return v === null || v <= 0n ? null : v;
}
export function intOrNull(text) {
  const t = String(text ?? '').trim();
  if (!/^\d+$/.test(t)) return null;
  return Number(t);
}

