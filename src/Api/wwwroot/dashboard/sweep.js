// A sweep: its jobs and comparison table, from GET /sweeps/{id}.

import { api, ApiError } from './api.js';
import { h } from './dom.js';

export async function renderSweep(view, sweepId) {
  try {
    await api(`/sweeps/${sweepId}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      view.replaceChildren(h('section', { class: 'card' }, h('h1', {}, 'Sweep'),
        h('p', { class: 'muted' }, `No sweep ${sweepId} on this server.`)));
      return;
    }
    throw error;
  }
}
