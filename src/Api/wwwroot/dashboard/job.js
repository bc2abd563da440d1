// One job: its state, live learning curves fed by the metrics stream (Server-Sent Events), the
// per-epoch table, checkpoints, the confusion matrix of an eval, and a cancel button.

import { api, download, followEvents } from './api.js';
import { h, percent, number, time, duration, statusBadge, progressBar, problemMessage } from './dom.js';

const cancellable = new Set(['queued', 'running', 'interrupted']);
const trainColor = '#2a6fdb';
const testColor = '#d9822b';

export async function renderJob(view, jobId, signal) {
  let job = await api(`/jobs/${jobId}`);
  const epochs = new Map();

  const summary = h('section', { class: 'card', id: 'job-summary' });
  const charts = h('section', { class: 'card charts', id: 'curves', dataset: { points: '0' } });
  const lossChart = h('div', { class: 'chart', id: 'loss-chart' });
  const accuracyChart = h('div', { class: 'chart', id: 'accuracy-chart' });
  charts.append(h('h2', {}, 'Learning curves'), h('div', { class: 'chart-row' }, lossChart, accuracyChart));
  const epochTable = h('tbody', { id: 'epochs' });
  const evaluation = h('section', { class: 'card', id: 'evaluation', hidden: true });
  const checkpoints = h('section', { class: 'card', id: 'checkpoints' });
  view.replaceChildren(summary,
    job.kind === 'train' ? charts : '',
    evaluation,
    job.kind === 'train' ? h('section', { class: 'card' }, h('h2', {}, 'Epochs'),
      h('table', { class: 'epochs' }, h('thead', {}, h('tr', {},
        ['Epoch', 'Train loss', 'Train accuracy', 'Test loss', 'Test accuracy', 'Learning rate', 'Seconds', 'Images/s'].map(t => h('th', {}, t)))),
      epochTable)) : '',
    checkpoints);

  const plots = job.kind === 'train' ? createPlots(lossChart, accuracyChart) : null;
  const renderSummary = () => summary.replaceChildren(...summaryContent(job, async () => {
    try {
      await api(`/jobs/${jobId}/cancel`, { method: 'POST' });
      job = await api(`/jobs/${jobId}`);
      renderSummary();
    } catch (error) {
      alert(problemMessage(error));
    }
  }));
  const renderEpochs = () => {
    const ordered = [...epochs.values()].sort((a, b) => a.epoch - b.epoch);
    epochTable.replaceChildren(...ordered.map(e => h('tr', {},
      h('td', {}, e.epoch), h('td', {}, number(e.trainLoss)), h('td', {}, percent(e.trainAccuracy)),
      h('td', {}, number(e.testLoss)), h('td', {}, percent(e.testAccuracy)), h('td', {}, number(e.learningRate, 6)),
      h('td', {}, number(e.epochSeconds, 1)), h('td', {}, Math.round(e.samplesPerSecond).toLocaleString()))));
    if (plots) {
      plots.update(ordered);
      charts.dataset.points = String(ordered.length);
    }
  };
  const renderFinished = async () => {
    if (job.kind === 'eval' && job.result?.confusionMatrix) {
      // Classes by name where the dataset has them (Fashion-MNIST's articles); an upload since deleted has only numbers.
      const classNames = (await api(`/datasets/${encodeURIComponent(job.dataset)}`).catch(() => null))?.classNames ?? [];
      evaluation.hidden = false;
      evaluation.replaceChildren(h('h2', {}, 'Confusion matrix'), confusionMatrix(job.result, classNames), perClass(job.result, classNames));
    }
    await renderCheckpoints(checkpoints, job);
  };

  renderSummary();
  await renderFinished();
  if (job.kind !== 'train' && ['succeeded', 'failed', 'cancelled'].includes(job.status)) return;

  // Epochs already recorded arrive first, then each new one; `end` carries the finished job.
  await followEvents(`/jobs/${jobId}/metrics`, async received => {
    if (received.event === 'epoch') {
      const record = JSON.parse(received.data);
      epochs.set(record.epoch, record);
      renderEpochs();
      await renderCheckpoints(checkpoints, job); // each epoch writes one
    } else if (received.event === 'progress') {
      job = { ...job, status: job.status === 'queued' || job.status === 'interrupted' ? 'running' : job.status, progress: JSON.parse(received.data) };
      renderSummary();
    } else if (received.event === 'end') {
      // The stream's job has no attempts (a listing's shape); the job's own record has them.
      job = await api(`/jobs/${jobId}`);
      renderSummary();
      await renderFinished();
    }
  }, signal);
}

function summaryContent(job, onCancel) {
  const p = job.progress;
  const facts = [
    ['Status', statusBadge(job.status)],
    ['Kind', job.kind],
    ['Architecture', job.architecture],
    ['Dataset', h('span', { id: 'job-dataset' }, job.dataset)],
    ['Progress', progressBar(job)],
    ['Step', p ? `${p.step.toLocaleString()} / ${p.stepsPerEpoch.toLocaleString()}` : '—'],
    ['Images/s', p ? Math.round(p.samplesPerSecond).toLocaleString() : '—'],
    ['ETA', p && job.status === 'running' ? duration(p.etaSeconds) : '—'],
    ['Attempt', job.attempt],
    ['Worker', job.worker ? `${job.worker} (${job.device})` : '—'],
    ['Created', time(job.createdAt)],
    ['Started', time(job.startedAt)],
    ['Finished', time(job.finishedAt)],
    ['Ended because', job.terminationReason ?? '—'],
  ];
  if (job.result) {
    facts.push(['Final test accuracy', percent(job.result.finalTestAccuracy)]);
    if (job.result.bestTestAccuracy !== null && job.result.bestTestAccuracy !== undefined)
      facts.push(['Best test accuracy', `${percent(job.result.bestTestAccuracy)} (epoch ${job.result.bestEpoch})`]);
  }
  if (job.result?.expectations?.length)
    facts.push(['Expectations', h('span', { id: 'expectations', dataset: { passed: String(job.result.passed) } },
      job.result.expectations.map(e => h('span', { class: e.held ? 'held' : 'missed' },
        `${e.held ? '✓' : '✗'} ${e.figure} ${bound(e)} (${number(e.value, 4)}) `)))]);
  if (job.source) facts.push(['Source', h('a', { href: `/jobs/${job.source.jobId}` }, `${job.source.jobId} @ ${job.source.checkpoint}`)]);
  const hyperparameters = Object.entries(job.hyperparameters).map(([k, v]) => h('span', { class: 'hp' }, `${k}=${v ?? '—'}`));
  return [
    h('div', { class: 'section-head' },
      h('h1', {}, job.name ?? `Job ${job.id}`),
      cancellable.has(job.status) ? h('button', { class: 'cancel', id: 'cancel-job', onclick: onCancel }, 'Cancel') : ''),
    h('p', { class: 'muted mono' }, job.id, ' ', job.tags.map(t => h('span', { class: 'tag' }, t))),
    h('dl', { class: 'facts' }, facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    job.error ? h('p', { class: 'error', id: 'job-error' }, `${job.error.kind} error: ${job.error.message}`) : '',
    h('p', { class: 'hyperparameters' }, hyperparameters),
    job.attempts?.length ? attemptsTable(job.attempts) : '',
  ];
}

/** Every run of the job by a worker: where it started, where it got, and why it ended. */
function attemptsTable(attempts) {
  const position = (epoch, step) => epoch === null || epoch === undefined ? '—' : `epoch ${epoch}, step ${step ?? 0}`;
  return h('table', { class: 'attempts', id: 'attempts' },
    h('thead', {}, h('tr', {}, ['Attempt', 'Worker', 'Started', 'Ended', 'From', 'Reached', 'Ended because'].map(t => h('th', {}, t)))),
    h('tbody', {}, attempts.map(a => h('tr', { dataset: { reason: a.reason ?? 'running' } },
      h('td', {}, a.number), h('td', {}, `${a.worker} (${a.device})`), h('td', {}, time(a.startedAt)), h('td', {}, time(a.endedAt)),
      h('td', {}, position(a.startedFromEpoch, a.startedFromStep)), h('td', {}, position(a.reachedEpoch, a.reachedStep)),
      h('td', { title: a.message ?? '' }, a.reason ?? 'running')))));
}

function bound(e) {
  if (e.min !== null && e.min !== undefined && e.max !== null && e.max !== undefined) return `in [${e.min}, ${e.max}]`;
  return e.min !== null && e.min !== undefined ? `≥ ${e.min}` : `≤ ${e.max}`;
}

function createPlots(lossElement, accuracyElement) {
  const width = () => Math.max(300, Math.floor((lossElement.parentElement.clientWidth - 24) / 2));
  const options = (title, yLabel, series) => ({
    title, width: width(), height: 280,
    scales: { x: { time: false } },
    // Whole epochs only on the x axis.
    axes: [{ label: 'epoch', incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500] }, { label: yLabel }],
    series: [{ label: 'epoch' }, ...series],
  });
  const loss = new uPlot(options('Loss', 'cross-entropy', [
    { label: 'train', stroke: trainColor, width: 2 }, { label: 'test', stroke: testColor, width: 2 }]), [[], [], []], lossElement);
  const accuracy = new uPlot(options('Accuracy', '%', [
    { label: 'train', stroke: trainColor, width: 2 }, { label: 'test', stroke: testColor, width: 2 }]), [[], [], []], accuracyElement);
  window.addEventListener('resize', () => {
    loss.setSize({ width: width(), height: 280 });
    accuracy.setSize({ width: width(), height: 280 });
  });
  return {
    update(ordered) {
      const x = ordered.map(e => e.epoch);
      loss.setData([x, ordered.map(e => e.trainLoss), ordered.map(e => e.testLoss)]);
      accuracy.setData([x, ordered.map(e => e.trainAccuracy * 100), ordered.map(e => e.testAccuracy * 100)]);
    },
  };
}

/** Rows are true classes, columns predictions; a cell's shade is its share of the true class. */
function confusionMatrix(result, classNames) {
  const label = c => classNames[c] ?? c;
  const matrix = result.confusionMatrix;
  const cell = (count, rowTotal, isDiagonal) => {
    const td = h('td', { title: `${count} of ${rowTotal}` }, count);
    const share = rowTotal > 0 ? count / rowTotal : 0;
    // Styles through the CSSOM: the content security policy allows these, unlike style attributes.
    td.style.backgroundColor = isDiagonal ? `rgba(42, 111, 219, ${0.1 + 0.9 * share})` : `rgba(217, 130, 43, ${Math.min(1, share * 8)})`;
    if (isDiagonal && share > 0.5) td.style.color = '#fff';
    return td;
  };
  return h('table', { class: 'confusion', id: 'confusion-matrix' },
    h('thead', {}, h('tr', {}, h('th', {}, 'true \\ predicted'), matrix.map((_, c) => h('th', { title: label(c) }, c)))),
    h('tbody', {}, matrix.map((row, r) => {
      const total = row.reduce((a, b) => a + b, 0);
      return h('tr', {}, h('th', {}, classNames[r] === undefined || classNames[r] === String(r) ? r : `${r} ${classNames[r]}`), row.map((count, c) => cell(count, total, r === c)));
    })));
}

function perClass(result, classNames) {
  if (!result.perClassAccuracy) return '';
  return h('p', { class: 'per-class' }, 'Per-class accuracy: ',
    result.perClassAccuracy.map((a, c) => h('span', { class: 'hp' }, `${classNames[c] ?? c}: ${percent(a, 1)}`)));
}

async function renderCheckpoints(section, job) {
  if (job.kind !== 'train') {
    section.hidden = true;
    return;
  }
  try {
    const list = await api(`/jobs/${job.id}/checkpoints`);
    section.replaceChildren(h('h2', {}, 'Checkpoints'),
      list.checkpoints.length === 0 ? h('p', { class: 'muted' }, 'None yet: one is written at the end of every epoch.') :
        h('table', {}, h('thead', {}, h('tr', {}, ['Epoch', 'Test accuracy', 'Size', 'SHA-256', ''].map(t => h('th', {}, t)))),
          h('tbody', {}, list.checkpoints.map(c => h('tr', {},
            h('td', {}, c.epoch, c.epoch === list.best ? ' (best)' : '', c.epoch === list.final ? ' (final)' : ''),
            h('td', {}, percent(c.metrics?.testAccuracy)),
            h('td', {}, `${(c.sizeBytes / 1e6).toFixed(1)} MB`),
            h('td', { class: 'mono' }, c.sha256.slice(0, 16), '…'),
            h('td', {}, h('button', { onclick: () => download(c.url, `${job.id}-epoch-${c.epoch}.safetensors`).catch(e => alert(problemMessage(e))) }, 'Download')))))));
  } catch (error) {
    section.replaceChildren(h('h2', {}, 'Checkpoints'), h('p', { class: 'error' }, problemMessage(error)));
  }
}
