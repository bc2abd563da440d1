// A sweep: its status, a chart comparing the grid's rows (mean final test accuracy ± standard
// deviation over seeds), the comparison table, and every point with its job. Refreshed every two
// seconds until the sweep ends.

import { api } from './api.js';
import { h, percent, number, duration, statusBadge, problemMessage } from './dom.js';

const refreshMilliseconds = 2000;

export async function renderSweep(view, sweepId, signal) {
  const summary = h('section', { class: 'card', id: 'sweep-summary' });
  const chart = h('section', { class: 'card', id: 'sweep-chart' });
  const comparison = h('section', { class: 'card', id: 'sweep-comparison' });
  const points = h('section', { class: 'card', id: 'sweep-points' });
  view.replaceChildren(summary, chart, comparison, points);

  const refresh = async () => {
    const sweep = await api(`/sweeps/${sweepId}`);
    summary.replaceChildren(...summaryContent(sweep, async () => {
      try { await api(`/sweeps/${sweepId}/cancel`, { method: 'POST' }); } catch (error) { alert(problemMessage(error)); }
      await refresh();
    }));
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
      h('dt', {}, 'Grid'), h('dd', {}, sweep.grid.map(a => h('span', { class: 'hp' }, `${a.name}: ${a.values.join(', ')}`)))),
  ];
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
    h('thead', {}, h('tr', {}, ['Row', 'Runs', 'Succeeded', 'Final test accuracy', 'Best test accuracy', 'Epochs to 99 %', 'Wall time'].map(t => h('th', {}, t)))),
    h('tbody', {}, rows.map(r => h('tr', {},
      h('td', {}, label(r.values)), h('td', {}, r.runs), h('td', {}, r.succeeded),
      h('td', {}, stat(r.finalTestAccuracy, percent)), h('td', {}, stat(r.bestTestAccuracy, percent)),
      h('td', {}, r.epochsTo99 ? `${stat(r.epochsTo99, v => number(v, 1))} (${r.epochsTo99.count} reached)` : '—'),
      h('td', {}, stat(r.wallSeconds, duration))))));
}

function pointsTable(sweep) {
  return h('table', { id: 'points' },
    h('thead', {}, h('tr', {}, ['#', 'Values', 'Job', 'Status', 'Final test accuracy', 'Epochs to 99 %', 'Wall time'].map(t => h('th', {}, t)))),
    h('tbody', {}, sweep.points.map(p => h('tr', { dataset: { point: String(p.point), status: p.status ?? 'waiting' } },
      h('td', {}, p.point), h('td', {}, label(p.values)),
      h('td', {}, p.jobId ? h('a', { href: `/jobs/${p.jobId}` }, p.jobId.slice(-8)) : h('span', { class: 'muted' }, 'waiting')),
      h('td', {}, p.status ? statusBadge(p.status) : '—'),
      h('td', {}, percent(p.finalTestAccuracy)), h('td', {}, p.epochsTo99 ?? '—'), h('td', {}, duration(p.wallSeconds))))));
}
