// The start page: a form to submit a job (the chosen architecture's defaults filled in, and the
// dataset to train or evaluate on) and the job list with live status and progress, refreshed every
// two seconds.

import { api, ApiError } from './api.js';
import { h, percent, time, statusBadge, progressBar, problemMessage } from './dom.js';

const refreshMilliseconds = 2000;
const cancellable = new Set(['queued', 'running', 'interrupted']);

// The hyperparameters the form offers, in order; the rest keep the architecture's defaults.
const fields = [
  { name: 'epochs', label: 'Epochs', type: 'number', min: 1, max: 1000, step: 1 },
  { name: 'batchSize', label: 'Batch size', type: 'number', min: 1, max: 65536, step: 1 },
  { name: 'learningRate', label: 'Learning rate', type: 'number', min: 0, step: 'any' },
  { name: 'optimizer', label: 'Optimizer', options: ['adam', 'adamw', 'sgd'] },
  { name: 'lrSchedule', label: 'Schedule', options: ['constant', 'step', 'cosine', 'onecycle'] },
  { name: 'weightDecay', label: 'Weight decay', type: 'number', min: 0, step: 'any' },
  { name: 'seed', label: 'Seed', type: 'number', step: 1 },
  { name: 'device', label: 'Device', type: 'text' },
  { name: 'trainSubset', label: 'Train subset (images)', type: 'number', min: 1, max: 60000, step: 1, optional: true },
];

// What the picker offers when the datasets cannot be listed (no API key yet): the default alone.
const defaultDatasets = [{ name: 'mnist', title: 'MNIST', trainCount: 60000, classCount: 10 }];

export async function renderHome(view, signal) {
  const architectures = await api('/architectures');
  const datasets = await api('/datasets').then(page => page.items).catch(() => defaultDatasets);
  const titles = new Map(datasets.map(d => [d.name, d.title]));
  const status = h('p', { class: 'form-status', role: 'status' });
  const form = submitForm(architectures, datasets, status);
  const filter = h('select', { id: 'status-filter', 'aria-label': 'Filter by status' },
    ['all', 'queued', 'running', 'interrupted', 'cancelling', 'succeeded', 'failed', 'cancelled'].map(s => h('option', { value: s }, s)));
  const table = h('tbody', { id: 'jobs' });
  const tag = new URLSearchParams(location.search).get('tag');
  const sweeps = h('ul', { id: 'sweeps', class: 'sweeps' });
  view.replaceChildren(
    h('section', { class: 'card' }, h('h2', {}, 'Submit a job'), form, status),
    h('section', { class: 'card' },
      h('div', { class: 'section-head' },
        h('h2', {}, 'Jobs', tag ? [' tagged ', h('span', { class: 'tag' }, tag), ' ', h('a', { href: '/' }, '(all)')] : ''), filter),
      h('table', { class: 'jobs' },
        h('thead', {}, h('tr', {}, ['Job', 'Kind', 'Architecture', 'Dataset', 'Status', 'Progress', 'Best test accuracy', 'Created', ''].map(t => h('th', {}, t)))),
        table)),
    h('section', { class: 'card' }, h('h2', {}, 'Sweeps'), sweeps));

  const refresh = async () => {
    const query = (filter.value === 'all' ? '' : `&status=${filter.value}`) + (tag ? `&tag=${encodeURIComponent(tag)}` : '');
    try {
      const page = await api(`/jobs?limit=50${query}`);
      table.replaceChildren(...page.items.map(job => jobRow(job, titles, refresh)));
      if (page.items.length === 0) table.append(h('tr', {}, h('td', { colspan: 9, class: 'muted' }, 'No jobs yet.')));
    } catch (error) {
      table.replaceChildren(h('tr', {}, h('td', { colspan: 9, class: 'error' }, problemMessage(error))));
    }
  };
  filter.addEventListener('change', refresh);
  api('/sweeps?limit=10').then(page => sweeps.replaceChildren(...(page.items.length === 0
    ? [h('li', { class: 'muted' }, 'No sweeps yet: POST /sweeps (see /swagger).')]
    : page.items.map(s => h('li', {}, h('a', { href: `/sweeps/${s.id}` }, s.name ?? s.id.slice(-8)),
        h('span', { class: 'muted' }, ` ${s.pointCount} points over ${s.axes.join(' × ')}${s.cancelRequested ? ', cancelled' : ''}`))))))
    .catch(error => sweeps.replaceChildren(h('li', { class: 'error' }, problemMessage(error))));
  await refresh();
  const timer = setInterval(refresh, refreshMilliseconds);
  signal.addEventListener('abort', () => clearInterval(timer));
}

function jobRow(job, titles, refresh) {
  const cancel = cancellable.has(job.status)
    ? h('button', {
        class: 'cancel', dataset: { jobId: job.id },
        onclick: async event => {
          event.target.disabled = true;
          try { await api(`/jobs/${job.id}/cancel`, { method: 'POST' }); } catch (error) { alert(problemMessage(error)); }
          await refresh();
        },
      }, 'Cancel')
    : '';
  return h('tr', { dataset: { jobId: job.id, status: job.status } },
    h('td', {}, h('a', { href: `/jobs/${job.id}` }, job.name ?? job.id.slice(-8)), job.tags.map(t => h('span', { class: 'tag' }, t))),
    h('td', {}, job.kind),
    h('td', {}, job.architecture),
    h('td', { class: 'dataset', title: job.dataset }, datasetLabel(job.dataset, titles)),
    h('td', {}, statusBadge(job.status)),
    h('td', {}, progressBar(job)),
    h('td', {}, percent(job.result?.bestTestAccuracy ?? job.result?.finalTestAccuracy)),
    h('td', {}, time(job.createdAt)),
    h('td', {}, cancel));
}

/** A built-in's or an upload's title where known, else the dataset's name (an upload's id, shortened). */
function datasetLabel(name, titles) {
  return titles.get(name) ?? (name.length > 12 ? `${name.slice(0, 8)}…` : name);
}

function submitForm(architectures, datasets, status) {
  const kind = h('select', { name: 'kind', id: 'kind' }, h('option', { value: 'train' }, 'train'), h('option', { value: 'eval' }, 'eval'));
  const architecture = h('select', { name: 'architecture', id: 'architecture' },
    architectures.map(a => h('option', { value: a.name }, `${a.name} (${a.parameterCount.toLocaleString()} parameters)`)));
  // An eval job evaluates on its source's dataset unless another (of the same geometry) is picked.
  const sourceDataset = h('option', { value: '', class: 'eval-only' }, 'the source job\'s');
  const dataset = h('select', { name: 'dataset', id: 'dataset' }, sourceDataset,
    datasets.map(d => h('option', { value: d.name, title: `${d.trainCount.toLocaleString()} training images in ${d.classCount} classes` },
      `${d.title}${d.builtIn === false ? ' (uploaded)' : ''}`)));
  dataset.value = 'mnist';
  const name = h('input', { name: 'name', id: 'name', type: 'text', maxlength: 200, placeholder: 'optional' });
  const tags = h('input', { name: 'tags', id: 'tags', type: 'text', placeholder: 'comma-separated, optional' });
  const sourceJob = h('input', { name: 'sourceJobId', id: 'sourceJobId', type: 'text', placeholder: 'id of a finished training job' });
  const sourceCheckpoint = h('input', { name: 'sourceCheckpoint', id: 'sourceCheckpoint', type: 'text', value: 'final' });
  const inputs = Object.fromEntries(fields.map(f => [f.name, f.options
    ? h('select', { name: f.name, id: `hp-${f.name}` }, f.options.map(o => h('option', { value: o }, o)))
    : h('input', { name: f.name, id: `hp-${f.name}`, type: f.type, min: f.min, max: f.max, step: f.step })]));

  const fillDefaults = () => {
    const defaults = architectures.find(a => a.name === architecture.value)?.defaultHyperparameters ?? {};
    for (const f of fields) inputs[f.name].value = defaults[f.name] ?? '';
  };
  const showKind = () => {
    const isEval = kind.value === 'eval';
    form.querySelectorAll('.train-only').forEach(e => { e.hidden = isEval; });
    form.querySelectorAll('.eval-only').forEach(e => { e.hidden = !isEval; });
    sourceDataset.hidden = !isEval;
    if (isEval && dataset.value === 'mnist') dataset.value = '';
    if (!isEval && dataset.value === '') dataset.value = 'mnist';
  };
  architecture.addEventListener('change', fillDefaults);
  kind.addEventListener('change', showKind);

  const labelled = (text, input, className) => h('label', { class: className }, h('span', {}, text), input);
  const form = h('form', { id: 'submit-job', class: 'submit' },
    labelled('Kind', kind),
    labelled('Architecture', architecture, 'train-only'),
    labelled('Dataset', dataset),
    labelled('Name', name),
    labelled('Tags', tags),
    labelled('Source job', sourceJob, 'eval-only'),
    labelled('Checkpoint', sourceCheckpoint, 'eval-only'),
    fields.map(f => labelled(f.label, inputs[f.name], f.name === 'device' ? '' : 'train-only')),
    h('button', { type: 'submit', id: 'submit' }, 'Submit'));

  form.addEventListener('submit', async event => {
    event.preventDefault();
    const body = { kind: kind.value };
    if (name.value.trim()) body.name = name.value.trim();
    const tagList = tags.value.split(',').map(t => t.trim()).filter(Boolean);
    if (tagList.length) body.tags = tagList;
    if (dataset.value) body.dataset = dataset.value;
    if (kind.value === 'train') {
      body.architecture = architecture.value;
      body.hyperparameters = {};
      for (const f of fields) {
        const raw = inputs[f.name].value.trim();
        if (raw === '' && f.optional) continue;
        body.hyperparameters[f.name] = f.type === 'number' ? Number(raw) : raw;
      }
    } else {
      const checkpoint = sourceCheckpoint.value.trim();
      body.source = { jobId: sourceJob.value.trim(), checkpoint: /^\d+$/.test(checkpoint) ? Number(checkpoint) : checkpoint };
      if (inputs.device.value.trim()) body.hyperparameters = { device: inputs.device.value.trim() };
    }
    status.className = 'form-status';
    status.textContent = 'Submitting…';
    try {
      const job = await api('/jobs', { method: 'POST', body });
      location.assign(`/jobs/${job.id}`);
    } catch (error) {
      status.className = 'form-status error';
      status.textContent = error instanceof ApiError ? problemMessage(error) : String(error);
    }
  });

  fillDefaults();
  showKind();
  return form;
}
