// Small DOM helpers: building elements, text, debouncing, errors shown where they belong.

export const $ = (sel, root = document) => root.querySelector(sel);


export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k === 'dataset') Object.assign(e.dataset, v);
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : v);
    }
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}
export function setText(node, text) {
  if (node && node.textContent !== text) node.textContent = text;
}
export function debounce(fn, ms) {
  let t = null;
  const d = (...args) => {
    clearTimeout(t);
    t = setTimeout(() => { t = null; fn(...args); }, ms);
  };
  d.cancel = () => clearTimeout(t);
  return d;
}
/** The `.error` element of the form or panel that holds `node`. */
export function errorBoxFor(node) {
  const host = node.closest('form, .position, .panel');
  return host ? host.querySelector(':scope .error') : $('#error');
}
export function showError(box, err) {
  if (!box) return;
  const msg = err instanceof Error ? err.message : String(err);
  box.textContent = msg;
  box.hidden = !msg;
}
export function clearError(box) {
  if (!box) return;
  box.textContent = '';
  box.hidden = true;
}
export function showGlobalError(msg) {
  const box = $('#error');
  box.textContent = msg;
  box.hidden = !msg;
}
/** Disables `button` while `work` runs; errors go to `box`. */
export async function busy(button, box, work) {
  if (button) button.disabled = true;
  clearError(box);
  try {
    return await work();
  } catch (e) {
    showError(box, e);
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

