// The dashboard in a real headless Chromium (Debian's /usr/bin/chromium) against a running service
// with authentication on: without a key the job list says so; with the key entered in the page,
// submit a short training job from the form, watch its learning curves gain points live (the
// stream read with the key), cancel another job (on Fashion-MNIST, picked in the form's dataset
// picker) from its page and a third from the list, see them
// in the list, evaluate the first and see the confusion matrix. Saves a screenshot at each stage.
// Last, a small sweep with early stopping: its curves, the stop mark and its comparison page. With PHASE=open (a service with authentication
// off, as start.sh runs it) only the start page: its form and job list, no key needed.
// Run by scripts/dashboard-test.sh, which starts the services.
//
//   BASE_URL=http://127.0.0.1:PORT SCREENSHOTS=DIR API_KEY=KEY node dashboard.test.mjs
//   BASE_URL=http://127.0.0.1:PORT SCREENSHOTS=DIR PHASE=open node dashboard.test.mjs

import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const baseUrl = process.env.BASE_URL ?? 'http://127.0.0.1:8080';
const screenshots = process.env.SCREENSHOTS ?? '.';
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const trainingTimeout = 300_000; // a few small epochs on a loaded 2-core machine, with room to spare
const uiTimeout = 30_000;
const apiKey = process.env.API_KEY ?? '';
const openPhase = process.env.PHASE === 'open';
const authorization = apiKey ? { Authorization: `Bearer ${apiKey}` } : {};

mkdirSync(screenshots, { recursive: true });
const passed = [];
const pageErrors = [];

function check(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`);
  passed.push(what);
}

async function api(path) {
  const response = await fetch(baseUrl + path, { headers: { Accept: 'application/json', ...authorization } });
  if (!response.ok) throw new Error(`GET ${path}: HTTP ${response.status}`);
  return response.json();
}

async function shot(page, name) {
  await page.screenshot({ path: join(screenshots, `${openPhase ? 'open-' : ''}${name}.png`), fullPage: true });
}

/** Fills the start page's form for a small convnet training job and submits it; returns the new job's id. */
async function submitTrainingJob(page, name, epochs, dataset = 'mnist') {
  await page.goto(baseUrl + '/');
  await page.waitForSelector('#submit-job', { timeout: uiTimeout });
  await page.selectOption('#kind', 'train');
  await page.selectOption('#architecture', 'convnet');
  await page.waitForSelector(`#dataset option[value="${dataset}"]`, { state: 'attached', timeout: uiTimeout });
  await page.selectOption('#dataset', dataset);
  await page.fill('#name', name);
  await page.fill('#tags', 'dashboard-test');
  await page.fill('#hp-epochs', String(epochs));
  await page.fill('#hp-trainSubset', '2000');
  await page.click('#submit');
  await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/, { timeout: uiTimeout });
  return page.url().split('/').pop();
}

async function pointsPlotted(page) {
  return Number(await page.getAttribute('#curves', 'data-points'));
}

// No sandbox (CI runs as root); no background networking, which a closed network answers with refusals.
const browser = await chromium.launch({
  executablePath: chromiumPath,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
let page;
try {
  page = await context.newPage();
  page.on('pageerror', error => pageErrors.push(error.message));
  page.on('console', message => { if (message.type() === 'error') pageErrors.push(message.text()); });

  if (apiKey) {
    // Without a key the page still loads (it holds no data), and the job list says what is missing.
    await page.goto(baseUrl + '/');
    await page.waitForSelector('#jobs td.error', { timeout: uiTimeout });
    check(/authenticat|API key/i.test(await page.textContent('#jobs td.error')), 'without a key the job list asks for one');
    await shot(page, '00-no-key');
    // The key, entered in the page, is kept and sent with every request from then on.
    await page.fill('#api-key', apiKey);
    await Promise.all([page.waitForEvent('load'), page.click('#api-key-form button')]);
    await page.waitForSelector('#jobs td.muted, #jobs tr[data-job-id]', { timeout: uiTimeout });
    check(await page.locator('#jobs td.error').count() === 0, 'with the key the job list loads');
    // The browser logged the refused requests of the keyless visit as errors; those were expected.
    pageErrors.length = 0;
  }

  // The start page: the form holds the architecture's defaults.
  await page.goto(baseUrl + '/');
  await page.waitForSelector('#architecture option[value="resnet18"]', { state: 'attached', timeout: uiTimeout });
  await page.selectOption('#architecture', 'convnet');
  const defaults = (await api('/architectures')).find(a => a.name === 'convnet').defaultHyperparameters;
  check(await page.inputValue('#hp-epochs') === String(defaults.epochs), 'the form shows the architecture\'s default epochs');
  check(await page.inputValue('#hp-optimizer') === defaults.optimizer, 'the form shows the architecture\'s default optimizer');
  // The dataset picker lists the built-ins (GET /datasets), MNIST chosen.
  await page.waitForSelector('#dataset option[value="fashion-mnist"]', { state: 'attached', timeout: uiTimeout });
  check(await page.inputValue('#dataset') === 'mnist', 'the dataset picker offers the built-ins with MNIST chosen');
  await shot(page, '01-home');
  if (openPhase) {
    await page.waitForSelector('#jobs td.muted, #jobs tr[data-job-id]', { timeout: uiTimeout });
    check(await page.locator('#jobs td.error').count() === 0, 'with authentication off the job list loads without a key');
  } else {
    // Submit a job and watch its curves gain points while it trains.
    const epochs = 3;
    const trainedId = await submitTrainingJob(page, 'dashboard curve', epochs);
    check((await api(`/jobs/${trainedId}`)).hyperparameters.trainSubset === 2000, 'the submitted job carries the form\'s values');
    await page.waitForFunction(() => Number(document.querySelector('#curves')?.dataset.points) >= 1, null, { timeout: trainingTimeout });
    const firstCount = await pointsPlotted(page);
    await shot(page, '02-curves-first-epoch');
    check(firstCount < epochs, `the curve started with fewer points (${firstCount}) than epochs`);

    // Meanwhile, from a second tab: submit another job (queued behind the first) and cancel it.
    const other = await context.newPage();
    other.on('pageerror', error => pageErrors.push(error.message));
    const cancelledId = await submitTrainingJob(other, 'dashboard cancel', 20, 'fashion-mnist');
    check((await api(`/jobs/${cancelledId}`)).dataset === 'fashion-mnist', 'the job carries the dataset picked in the form');
    check(await other.textContent('#job-dataset', { timeout: uiTimeout }) === 'fashion-mnist', 'the job page shows the job\'s dataset');
    await other.click('#cancel-job', { timeout: uiTimeout });
    await other.waitForSelector('#job-summary .status-cancelled', { timeout: trainingTimeout });
    check((await api(`/jobs/${cancelledId}`)).status === 'cancelled', 'the job cancelled from the dashboard is cancelled in the API');
    await shot(other, '03-cancelled-job');
    await other.close();

    // And one cancelled from the job list's Cancel button while it waits behind the first.
    const queued = await fetch(baseUrl + '/jobs', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...authorization },
      body: JSON.stringify({ kind: 'train', architecture: 'convnet', name: 'dashboard list cancel', hyperparameters: { epochs: 20 } }),
    });
    const listCancelledId = (await queued.json()).id;
    const list = await context.newPage();
    list.on('pageerror', error => pageErrors.push(error.message));
    await list.goto(baseUrl + '/');
    await list.click(`button.cancel[data-job-id="${listCancelledId}"]`, { timeout: uiTimeout });
    await list.waitForSelector(`tr[data-job-id="${listCancelledId}"][data-status="cancelled"]`, { timeout: uiTimeout });
    check((await api(`/jobs/${listCancelledId}`)).status === 'cancelled', 'the job cancelled from the list is cancelled in the API');
    await list.close();

    // The first job's curve gains its points live, then the stream's end shows it succeeded.
    await page.waitForFunction(first => Number(document.querySelector('#curves')?.dataset.points) > first, firstCount, { timeout: trainingTimeout });
    check(await pointsPlotted(page) > firstCount, 'the curve gained points from the live stream');
    await page.waitForSelector('#job-summary .status-succeeded', { timeout: trainingTimeout });
    await page.waitForFunction(n => Number(document.querySelector('#curves')?.dataset.points) === n, epochs, { timeout: uiTimeout });
    check(await page.locator('#epochs tr').count() === epochs, 'the epoch table has one row per epoch');
    const trained = await api(`/jobs/${trainedId}`);
    check(trained.status === 'succeeded', 'the job succeeded');
    await page.waitForSelector('#checkpoints table', { timeout: uiTimeout });
    check(await page.locator('#checkpoints tbody tr').count() === epochs, 'the job page lists a checkpoint per epoch');
    await page.waitForSelector('#attempts tbody tr[data-reason="succeeded"]', { timeout: uiTimeout });
    check(await page.locator('#attempts tbody tr').count() === 1, 'the job page lists its one attempt, ended succeeded');
    await shot(page, '04-curves-finished');

    // The list shows both jobs with their live status.
    await page.goto(baseUrl + '/');
    await page.waitForSelector(`tr[data-job-id="${trainedId}"][data-status="succeeded"]`, { timeout: uiTimeout });
    await page.waitForSelector(`tr[data-job-id="${cancelledId}"][data-status="cancelled"]`, { timeout: uiTimeout });
    check(true, 'the job list shows the succeeded and the cancelled job');
    check(await page.textContent(`tr[data-job-id="${cancelledId}"] td.dataset`) === 'Fashion-MNIST'
      && await page.textContent(`tr[data-job-id="${trainedId}"] td.dataset`) === 'MNIST', 'the job list shows each job\'s dataset');
    await shot(page, '05-job-list');

    // Evaluate the trained job's final checkpoint: the page shows its confusion matrix.
    await page.selectOption('#kind', 'eval');
    await page.fill('#sourceJobId', trainedId);
    await page.fill('#sourceCheckpoint', 'final');
    await page.click('#submit');
    await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/, { timeout: uiTimeout });
    const evalId = page.url().split('/').pop();
    await page.waitForSelector('#confusion-matrix', { timeout: trainingTimeout });
    check(await page.locator('#confusion-matrix tbody td').count() === 100, 'the confusion matrix has 10 × 10 cells');
    const evaluated = await api(`/jobs/${evalId}`);
    check(Math.abs(evaluated.result.finalTestAccuracy - trained.result.finalTestAccuracy) < 1e-4,
      'the eval of the final checkpoint reproduces the training job\'s test accuracy');
    await shot(page, '06-eval-confusion-matrix');

    // A sweep's page: a grid with ASHA over two learning rates, one of them hopeless. The first trial
    // runs to its end; the second, below the first at the rung (epoch 1), is stopped by the search
    // with three epochs to go. The page draws both curves with a stop mark, and the comparison chart
    // a bar for the row that succeeded.
    const created = await fetch(baseUrl + '/sweeps', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...authorization },
      body: JSON.stringify({
        name: 'dashboard sweep', maxConcurrent: 1,
        base: { architecture: 'convnet', hyperparameters: { epochs: 4, trainSubset: 1000 } },
        grid: { learningRate: [0.003, 0.000001] },
        earlyStopping: { rule: 'asha', gracePeriod: 1, reductionFactor: 2 },
      }),
    });
    check(created.status === 202, 'POST /sweeps accepts the sweep');
    const sweepId = (await created.json()).id;
    await page.goto(`${baseUrl}/sweeps/${sweepId}`);
    await page.waitForSelector('#sweep-summary .status-succeeded', { timeout: trainingTimeout });
    await page.waitForSelector('#sweep-chart .bars[data-rows="1"]', { timeout: uiTimeout });
    await page.waitForSelector('#sweep-curves[data-trials="2"][data-stops="1"] canvas', { timeout: uiTimeout });
    check(await page.locator('#comparison tbody tr').count() === 2, 'the sweep page compares its two rows');
    check(await page.locator('#points tbody tr[data-status="succeeded"]').count() === 1, 'the sweep page lists the first trial as succeeded');
    check(await page.locator('#points tbody tr[data-point="1"][data-stopped-at="1"]').count() === 1,
      'the sweep page shows the second trial stopped by the search at its rung, epoch 1');
    check((await page.locator('#comparison tbody tr').nth(1).locator('td').nth(3).textContent()) === '1',
      'the comparison counts the stopped trial in its row');
    check((await page.locator('#best-trial').textContent()).includes('learningRate: 0.003'), 'the sweep page shows the best trial\'s settings');
    await shot(page, '07-sweep');
  }

  check(pageErrors.length === 0, `no script errors in the pages (${pageErrors.join(' | ')})`);
  console.log(`dashboard (authentication ${openPhase ? 'off' : 'on'}): ${passed.length} checks passed; screenshots in ${screenshots}`);
} catch (error) {
  if (page) await shot(page, 'failure').catch(() => {});
  console.error(`dashboard: FAILED after ${passed.length} checks: ${error.message}`);
  if (pageErrors.length) console.error(`script errors: ${pageErrors.join(' | ')}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
