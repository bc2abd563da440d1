// The dashboard's entry point: picks the view from the address (the API serves this page for
// `/`, `/jobs/{id}` and `/sweeps/{id}` when a browser asks for HTML) and wires the API key form.

import { apiKey, setApiKey, ApiError } from './api.js';
import { h, problemMessage } from './dom.js';
import { renderHome } from './home.js';
import { renderJob } from './job.js';
import { renderSweep } from './sweep.js';

const view = document.getElementById('view');
const keyInput = document.getElementById('api-key');
keyInput.value = apiKey();
document.getElementById('api-key-form').addEventListener('submit', event => {
  event.preventDefault();
  setApiKey(keyInput.value.trim());
  location.reload();
});

const route = (() => {
  const path = location.pathname.replace(/\/+$/, '');
  const job = path.match(/^\/jobs\/([0-9a-fA-F-]{36})$/);
  if (job) return { title: 'Job', render: signal => renderJob(view, job[1], signal) };
  const sweep = path.match(/^\/sweeps\/([0-9a-fA-F-]{36})$/);
  if (sweep) return { title: 'Sweep', render: signal => renderSweep(view, sweep[1], signal) };
  return { title: 'Jobs', render: signal => renderHome(view, signal) };
})();

document.title = `${route.title} · TrainingService`;
const lifetime = new AbortController();
window.addEventListener('pagehide', () => lifetime.abort());
route.render(lifetime.signal).catch(error => {
  const hint = error instanceof ApiError && error.status === 401 ? ' Enter an API key above.' : '';
  view.replaceChildren(h('section', { class: 'card' }, h('p', { class: 'error', id: 'page-error' }, problemMessage(error) + hint)));
});
