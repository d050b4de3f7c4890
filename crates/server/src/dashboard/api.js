// The API: authenticated JSON requests, and their errors.

import { state } from './state.js';
import { signOut } from './session.js';

// ---------------------------------------------------------------- the API

export class ApiError extends Error {
  constructor(kind, message, status, field) {
    super(message);
    this.kind = kind;
    this.status = status;
    this.field = field;
  }
}

export async function api(method, path, body, opts = {}) {
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
