// Small helpers for building the page from data without innerHTML, so nothing a user typed (a job
// name, a tag) is ever parsed as markup.

/** h('td', { class: 'x', dataset: { id } }, 'text', childNode) */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'dataset') Object.assign(element.dataset, value);
    else if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (name === 'class') element.className = value;
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export function percent(fraction, digits = 2) {
  return fraction === null || fraction === undefined || Number.isNaN(fraction) ? '—' : `${(fraction * 100).toFixed(digits)} %`;
}

export function number(value, digits = 4) {
  return value === null || value === undefined || Number.isNaN(value) ? '—' : Number(value).toFixed(digits);
}

export function time(iso) {
  return iso ? new Date(iso).toLocaleString() : '—';
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export function statusBadge(status) {
  return h('span', { class: `status status-${status}` }, status);
}

/** A progress bar for a running job: epoch and step of the epoch. */
export function progressBar(job) {
  const p = job.progress;
  if (!p || job.status === 'succeeded') return h('span', { class: 'muted' }, job.status === 'succeeded' ? 'done' : '—');
  const done = ((p.epoch - 1) + (p.stepsPerEpoch > 0 ? p.step / p.stepsPerEpoch : 0)) / Math.max(1, p.epochs);
  const meter = h('progress', { max: 1, value: Math.min(1, Math.max(0, done)) });
  return h('span', { class: 'progress' }, meter, ` epoch ${p.epoch}/${p.epochs}`);
}

export function problemMessage(error) {
  const problem = error.problem ?? {};
  const fieldErrors = Object.entries(problem.errors ?? {}).map(([field, messages]) => `${field}: ${messages.join(' ')}`);
  return [problem.title ?? error.message, problem.detail, ...fieldErrors].filter(Boolean).join(' — ');
}
