// A sweep: its status, how it searches (grid or random space, early-stopping rule), the best trial
// and its settings, every trial's test-accuracy curve with a ring where the search stopped it, a
// chart comparing the rows (mean final test accuracy ± standard deviation over seeds), the
// comparison table, and every point with its job, rung decisions and why it stopped. Refreshed
// every two seconds until the sweep ends.

import { api } from './api.js';
import { h, percent, number, duration, statusBadge, problemMessage } from './dom.js';

const refreshMilliseconds = 2000;
const palette = ['#2a6fdb', '#d9822b', '#3a9d5d', '#8e44ad', '#c0392b', '#16a085', '#7f8c8d', '#b7950b', '#2c3e50', '#e84393'];
const stopColor = '#c0392b';

export async function renderSweep(view, sweepId, signal) {
  const summary = h('section', { class: 'card', id: 'sweep-summary' });
  const curves = h('section', { class: 'card', id: 'sweep-curves', dataset: { trials: '0', stops: '0' } });
  const curvesChart = h('div', { class: 'chart' });
  curves.append(h('h2', {}, 'Trials: test accuracy by epoch (a red ring where the search stopped a trial)'), curvesChart);
  const chart = h('section', { class: 'card', id: 'sweep-chart' });
  const comparison = h('section', { class: 'card', id: 'sweep-comparison' });
  const points = h('section', { class: 'card', id: 'sweep-points' });
  view.replaceChildren(summary, curves, chart, comparison, points);
  let curvesKey = '';

  const refresh = async () => {
    const sweep = await api(`/sweeps/${sweepId}`);
    summary.replaceChildren(...summaryContent(sweep, async () => {
      try { await api(`/sweeps/${sweepId}/cancel`, { method: 'POST' }); } catch (error) { alert(problemMessage(error)); }
      await refresh();
    }));
    // Redrawn only when a trial gained an epoch or a stop, so a refresh does not reset the chart's zoom.
    const key = JSON.stringify(sweep.points.map(p => [p.curve.length, p.stoppedAtEpoch]));
    if (key !== curvesKey) {
      curvesKey = key;
      trialCurves(curvesChart, sweep);
      curves.dataset.trials = String(sweep.points.filter(p => p.curve.length > 0).length);
      curves.dataset.stops = String(sweep.points.filter(p => p.stoppedAtEpoch !== null).length);
    }
    chart.replaceChildren(h('h2', {}, 'Final test accuracy by row (mean ± std over seeds)'), comparisonChart(sweep.comparison));
    comparison.replaceChildren(h('h2', {}, 'Comparison'), comparisonTable(sweep.comparison));
    points.replaceChildren(h('h2', {}, 'Points'), pointsTable(sweep));
    return sweep.status;
  };

  const status = await refresh();
  if (status !== 'running') return;
  const timer = setInterval(async () => {
    try {
      if (await refresh() !== 'running') clearInterval(timer);
    } catch (error) {
      summary.append(h('p', { class: 'error' }, problemMessage(error)));
    }
  }, refreshMilliseconds);
  signal.addEventListener('abort', () => clearInterval(timer));
}

const label = values => Object.entries(values).map(([k, v]) => `${k}=${v}`).join(' ') || 'all runs';

function summaryContent(sweep, onCancel) {
  const done = sweep.points.filter(p => ['succeeded', 'failed', 'cancelled'].includes(p.status)).length;
  return [
    h('div', { class: 'section-head' },
      h('h1', {}, sweep.name ?? `Sweep ${sweep.id}`),
      sweep.status === 'running' ? h('button', { class: 'cancel', id: 'cancel-sweep', onclick: onCancel }, 'Cancel sweep') : ''),
    h('p', { class: 'muted mono' }, sweep.id, ' ', h('a', { href: `/?tag=${encodeURIComponent(sweep.jobsTag)}` }, sweep.jobsTag)),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Status'), h('dd', {}, statusBadge(sweep.status)),
      h('dt', {}, 'Points'), h('dd', {}, `${done} of ${sweep.points.length} finished`),
      h('dt', {}, 'At a time'), h('dd', {}, sweep.maxConcurrent),
      // With authentication on, the key whose sweep it is (an admin sees everyone's).
      ...(sweep.owner ? [h('dt', {}, 'Owner'), h('dd', {}, sweep.owner)] : []),
      ...(sweep.method === 'random'
        ? [h('dt', {}, 'Random'), h('dd', {}, `${sweep.points.length} trials, seed ${sweep.seed}: `,
          sweep.space.map(d => h('span', { class: 'hp' }, `${d.name}: ${d.distribution} ${d.values.join(', ')}`)))]
        : [h('dt', {}, 'Grid'), h('dd', {}, sweep.grid.map(a => h('span', { class: 'hp' }, `${a.name}: ${a.values.join(', ')}`)))]),
      h('dt', {}, 'Early stopping'), h('dd', { id: 'early-stopping' }, earlyStopping(sweep.earlyStopping)),
      h('dt', {}, 'Epochs spent'), h('dd', { id: 'epochs-spent' }, number(sweep.epochsSpent, 2)),
      h('dt', {}, 'Best trial'), h('dd', { id: 'best-trial' }, sweep.best
        ? [`#${sweep.best.point} ${percent(sweep.best.bestTestAccuracy)} at epoch ${sweep.best.bestEpoch} (${sweep.best.status}) — `,
          h('span', { class: 'hp' }, `architecture: ${sweep.best.architecture}`),
          ...Object.entries(sweep.best.hyperparameters).filter(([, v]) => v !== null).map(([k, v]) => h('span', { class: 'hp' }, `${k}: ${v}`))]
        : h('span', { class: 'muted' }, 'no epoch finished yet'))),
  ];
}

function earlyStopping(rule) {
  if (!rule) return 'none: every trial runs to its end';
  return rule.rule === 'asha'
    ? `asha on ${rule.metric}: rungs from epoch ${rule.gracePeriod}, η = ${rule.reductionFactor}`
    : `median on ${rule.metric}: from epoch ${rule.gracePeriod}, once ${rule.minTrials} others reached it`;
}

/** One test-accuracy line per trial, and a red ring on each line at the epoch where the search stopped it. */
function trialCurves(element, sweep) {
  const trials = sweep.points.filter(p => p.curve.length > 0);
  element.replaceChildren();
  if (trials.length === 0) {
    element.append(h('p', { class: 'muted' }, 'No epoch finished yet.'));
    return;
  }
  if (typeof uPlot === 'undefined') return;
  const last = Math.max(...trials.map(p => Math.max(...p.curve.map(c => c.epoch))));
  const x = Array.from({ length: last }, (_, i) => i + 1);
  const accuracyAt = (p, epoch) => { const c = p.curve.find(c => c.epoch === epoch); return c ? c.testAccuracy * 100 : null; };
  const series = [{ label: 'epoch' }];
  const data = [x];
  trials.forEach((p, i) => {
    const color = palette[i % palette.length];
    series.push({ label: `#${p.point}`, stroke: color, width: 2, spanGaps: true });
    data.push(x.map(epoch => accuracyAt(p, epoch)));
    if (p.stoppedAtEpoch !== null) {
      // A separate series holding only the stop: drawn as a large point, no line.
      series.push({ label: `#${p.point} stopped at ${p.stoppedAtEpoch}`, stroke: stopColor, fill: stopColor, width: 0, paths: () => null,
        points: { show: true, size: 11, stroke: stopColor, fill: '#fff', width: 3 } });
      data.push(x.map(epoch => (epoch === p.stoppedAtEpoch ? accuracyAt(p, epoch) : null)));
    }
  });
  const width = Math.max(300, element.parentElement.clientWidth - 24);
  new uPlot({
    width, height: 300, scales: { x: { time: false } },
    axes: [{ label: 'epoch', incrs: [1, 2, 5, 10, 20, 50, 100] }, { label: 'test accuracy %' }],
    series,
  }, data, element);
}

/** Horizontal bars over the accuracy range the rows span, with a whisker for ± one standard deviation. */
function comparisonChart(rows) {
  const measured = rows.filter(r => r.finalTestAccuracy);
  if (measured.length === 0) return h('p', { class: 'muted' }, 'No finished runs yet.');
  const lows = measured.map(r => r.finalTestAccuracy.mean - (r.finalTestAccuracy.std ?? 0));
  const highs = measured.map(r => r.finalTestAccuracy.mean + (r.finalTestAccuracy.std ?? 0));
  const min = Math.max(0, Math.min(...lows) - 0.005);
  const max = Math.min(1, Math.max(...highs) + 0.002);
  const x = value => `${(100 * (value - min)) / Math.max(1e-9, max - min)}%`;
  return h('div', { class: 'bars', dataset: { rows: String(measured.length) } }, measured.map(row => {
    const stat = row.finalTestAccuracy;
    const bar = h('div', { class: 'bar' });
    bar.style.width = x(stat.mean);
    const whisker = h('div', { class: 'whisker' });
    whisker.style.left = x(stat.mean - (stat.std ?? 0));
    whisker.style.width = `calc(${x(stat.mean + (stat.std ?? 0))} - ${x(stat.mean - (stat.std ?? 0))})`;
    return h('div', { class: 'bar-row' },
      h('span', { class: 'bar-label' }, label(row.values)),
      h('span', { class: 'bar-track' }, bar, whisker),
      h('span', { class: 'bar-value' }, `${percent(stat.mean)}${stat.std !== null ? ` ± ${percent(stat.std)}` : ''} (n=${stat.count})`));
  }), h('p', { class: 'muted axis' }, `axis from ${percent(min)} to ${percent(max)}`));
}

const stat = (s, format) => (s ? `${format(s.mean)}${s.std !== null ? ` ± ${format(s.std)}` : ''}` : '—');

function comparisonTable(rows) {
  return h('table', { id: 'comparison' },
    h('thead', {}, h('tr', {}, ['Row', 'Runs', 'Succeeded', 'Stopped by the search', 'Final test accuracy', 'Best test accuracy', 'Epochs to 99 %', 'Wall time'].map(t => h('th', {}, t)))),
    h('tbody', {}, rows.map(r => h('tr', {},
      h('td', {}, label(r.values)), h('td', {}, r.runs), h('td', {}, r.succeeded), h('td', {}, r.stopped),
      h('td', {}, stat(r.finalTestAccuracy, percent)), h('td', {}, stat(r.bestTestAccuracy, percent)),
      h('td', {}, r.epochsTo99 ? `${stat(r.epochsTo99, v => number(v, 1))} (${r.epochsTo99.count} reached)` : '—'),
      h('td', {}, stat(r.wallSeconds, duration))))));
}

function pointsTable(sweep) {
  // The rule's metric: accuracies as percentages, losses as numbers.
  const percentOrValue = (sweep.earlyStopping?.metric ?? 'testAccuracy').endsWith('Accuracy') ? percent : number;
  return h('table', { id: 'points' },
    h('thead', {}, h('tr', {}, ['#', 'Values', 'Job', 'Status', 'Final test accuracy', 'Best test accuracy', 'Epochs to 99 %', 'Epochs spent', 'Rungs', 'Ended', 'Wall time'].map(t => h('th', {}, t)))),
    h('tbody', {}, sweep.points.map(p => h('tr', { dataset: { point: String(p.point), status: p.status ?? 'waiting', stoppedAt: p.stoppedAtEpoch ?? '' } },
      h('td', {}, p.point), h('td', {}, label(p.values)),
      h('td', {}, p.jobId ? h('a', { href: `/jobs/${p.jobId}` }, p.jobId.slice(-8)) : h('span', { class: 'muted' }, 'waiting')),
      h('td', {}, p.status ? statusBadge(p.status) : '—'),
      h('td', {}, percent(p.finalTestAccuracy)), h('td', {}, percent(p.bestTestAccuracy)), h('td', {}, p.epochsTo99 ?? '—'),
      h('td', {}, number(p.epochsSpent, 2)),
      h('td', { class: 'rungs' }, p.rungs.length === 0 ? '—' : p.rungs.map(r => h('div', { class: `rung rung-${r.decision}` },
        `epoch ${r.epoch}: ${percentOrValue(r.value)} vs ${r.cutoff === null ? '— (first)' : percentOrValue(r.cutoff)} → ${r.decision}`))),
      h('td', { title: p.stopReason ?? '' }, p.stopReason ? `stopped by the search at epoch ${p.stoppedAtEpoch}` : (p.terminationReason ?? '—')),
      h('td', {}, duration(p.wallSeconds))))));
}
