import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import request from 'supertest';
import { errorHandler } from '@contender/platform';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { AuditEvent } from '@contender/contracts';
import { startTestRegistry, type TestRegistry } from '../testing.js';
import { CONSOLE_CSP, consoleRoutes } from '../features/console/console-routes.js';
import { TREECL2, TREECL2_FEATURES, auth, createModel, fixture, uploadVersion } from './fixtures.js';
import { startSchedulerStub } from './scheduler-stub.js';

/** Debian's chromium (infra/test/install-chromium.sh); Playwright's own browser download is never used. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
/** Screenshots for a person to look at (ignored by git). */
const SHOTS = fileURLToPath(new URL('../../../../test-results/console/', import.meta.url));

describe('the web console in a real browser', () => {
  let reg: TestRegistry;
  let stub: Awaited<ReturnType<typeof startSchedulerStub>>;
  let browser: Browser;
  let page: Page;
  let scientist: string;
  let reader: string;
  const problems: string[] = [];
  const MODEL = 'credit';

  const shot = (name: string) => page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true });
  const events = async (): Promise<AuditEvent[]> => (await request(reg.app).get(`/api/v1/models/${MODEL}/events?limit=200`).set(auth(scientist)).expect(200)).body.items;
  const getModel = async () => (await request(reg.app).get(`/api/v1/models/${MODEL}`).set(auth(scientist)).expect(200)).body;

  async function signIn(key: string) {
    await page.goto(reg.url);
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('who').waitFor();
  }

  before(async () => {
    stub = await startSchedulerStub(MODEL);
    reg = await startTestRegistry({ env: { SCHEDULER_URL: stub.url } });
    scientist = await reg.createKey('data-scientist', 'alice');
    reader = await reg.createKey('reader', 'rita');
    await createModel(reg.app, scientist, { name: MODEL, task: 'binary_classification', description: 'card default' }).expect(201);
    const bytes = fixture(TREECL2);
    await uploadVersion(reg.app, scientist, MODEL, bytes, {
      featureNames: TREECL2_FEATURES,
      metrics: { auc: 0.7, logloss: 0.46 },
      source: { runId: 'r-41', gitCommit: '4f2a9c1', dataset: { uri: 's3://data/credit.csv', rows: 30000 } },
    }).expect(201);
    await uploadVersion(reg.app, scientist, MODEL, bytes, {
      featureNames: TREECL2_FEATURES,
      metrics: { auc: 0.72, logloss: 0.44 },
      source: { runId: 'r-42', gitCommit: '5b3c0d2', dataset: { uri: 's3://data/credit.csv', rows: 31000 } },
    }).expect(201);
    await request(reg.app).put(`/api/v1/models/${MODEL}/aliases/champion`).set(auth(scientist)).send({ version: 1, reason: 'first' }).expect(200);
    await request(reg.app).put(`/api/v1/models/${MODEL}/aliases/challenger`).set(auth(scientist)).send({ version: 2 }).expect(200);

    await mkdir(SHOTS, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
    page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    page.setDefaultTimeout(60_000);
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()} on ${page.url()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error on ${page.url()}: ${e.message}`));
  });
  after(async () => {
    await browser?.close();
    await reg?.close();
    await stub?.close();
  });

  it('serves the console with its security headers: CSP, index never cached, hashed assets for a year', async () => {
    const index = await fetch(`${reg.url}/`);
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('content-security-policy'), CONSOLE_CSP);
    assert.equal(index.headers.get('cache-control'), 'no-cache');
    assert.equal(index.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(index.headers.get('x-frame-options'), 'DENY');
    const html = await index.text();
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(asset, 'index.html names a hashed script');
    assert.doesNotMatch(html, /<script>(?!<\/script>)|https?:\/\//, 'no inline script and no other origin');
    const js = await fetch(`${reg.url}${asset}`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('cache-control') ?? '', /max-age=31536000.*immutable/);
    await js.arrayBuffer();
  });

  it('passes scheduler calls through with the caller key, status and body; asks for a key before saying whether the scheduler is up', async () => {
    await request(reg.app).get('/console/scheduler-status').expect(401);
    const status = await request(reg.app).get('/console/scheduler-status').set(auth(reader)).expect(200);
    assert.deepEqual(status.body, { reachable: true, url: stub.url });
    const before = stub.calls.length;
    const started = await request(reg.app).post('/console/scheduler/api/v1/dags/retrain/runs?x=1').set(auth(scientist)).send({ model: MODEL, params: { trees: 5 } }).expect(202);
    assert.deepEqual(started.body, { runId: '8' });
    assert.deepEqual(stub.calls.slice(before), [{ method: 'POST', path: '/api/v1/dags/retrain/runs?x=1', authorization: `Bearer ${scientist}`, body: { model: MODEL, params: { trees: 5 } } }]);
    const refused = await request(reg.app).get('/console/scheduler/api/v1/runs/7').expect(401);
    assert.equal(refused.body.error.code, 'unauthorized', "the scheduler's own refusal comes back as it was");
    await request(reg.app).get('/console/scheduler/healthz').set(auth(reader)).expect(404);
    // Sent as written (node:http does not resolve dot segments): the registry must not pass it on.
    const escape = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const u = new URL(reg.url);
      const r = http.get({ host: u.hostname, port: u.port, path: '/console/scheduler/api/v1/%2e%2e/%2e%2e/metrics', headers: auth(reader) }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      r.on('error', reject);
    });
    assert.equal(escape.status, 404);
    assert.equal(JSON.parse(escape.body).error.code, 'route_not_found');
    assert.ok(!stub.calls.some((c) => c.path.includes('metrics')), 'the scheduler never saw it');
    stub.calls.splice(before);
  });

  it('answers 404 console_not_built when the console has not been built', async () => {
    const app = express();
    app.use(consoleRoutes({ dir: path.join(os.tmpdir(), 'contender-no-console'), schedulerUrl: stub.url, schedulerTimeoutMs: 1000, keys: reg.container.keys, logger: reg.container.logger }));
    app.use(errorHandler(reg.container.logger));
    const res = await request(app).get('/').expect(404);
    assert.equal(res.body.error.code, 'console_not_built');
    assert.match(res.body.error.message, /npm run build/);
  });

  it('refuses an inactive key at sign-in and keeps the key out of the URL', async () => {
    await page.goto(reg.url);
    await page.getByLabel('API key').fill('ctk_not_a_key_at_all_0000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('This key is not active').waitFor();
    assert.doesNotMatch(page.url(), /ctk_/);
  });

  it('signs in with a key, keeps it in sessionStorage only, and lists the model with champion, challenger, verdict and drift', async () => {
    await signIn(scientist);
    const row = page.getByTestId(`model-row-${MODEL}`);
    await row.getByText('continue').waitFor();
    await row.getByText('drifted (1)').waitFor();
    const cells = await row.locator('td').allInnerTexts();
    assert.deepEqual(cells.slice(0, 5), [MODEL, 'binary_classification', 'v1', 'v2', '0 % · split']);
    // A string: this file is compiled without the DOM's types.
    const stored = (await page.evaluate("({ session: sessionStorage.getItem('contender.session'), local: JSON.stringify(localStorage), cookie: document.cookie })")) as { session: string | null; local: string; cookie: string };
    assert.equal(JSON.parse(stored.session!).key, scientist);
    assert.doesNotMatch(stored.local + stored.cookie, new RegExp(scientist));
    assert.doesNotMatch(page.url(), new RegExp(scientist));
    assert.ok(stub.calls.every((c) => c.authorization === `Bearer ${scientist}`), 'scheduler calls carry the user key');
    await shot('1-models');
  });

  it('opens a model: versions with metrics side by side and lineage, the experiment with its chart, drift per feature', async () => {
    await page.getByRole('link', { name: MODEL }).click();
    await page.getByTestId('version-2').waitFor();
    const v1 = await page.getByTestId('version-1').innerText();
    assert.match(v1, /champion/);
    assert.match(v1, /0\.7000/);
    assert.match(v1, /r-41/);
    assert.match(v1, /s3:\/\/data\/credit\.csv · 30,000 rows/);
    const challenger = await page.getByTestId('arm-challenger').innerText();
    assert.match(challenger, /v2\s+600\s+200\s+22\.00 %\s+0\.726\s+0\.696 … 0\.756/);
    assert.match(await page.getByTestId('experiment').innerText(), /SRM p\s+0\.74/);
    assert.equal(await page.getByTestId('verdict-row').count(), 3);
    await page.getByTestId('experiment-chart').locator('canvas').waitFor();
    await page.getByTestId('drift-chart').locator('canvas').waitFor();
    await page.getByTestId('drift-history').locator('canvas').waitFor();
    await shot('2-model');
  });

  it('sets the challenger share only after a confirmation with a reason, and the registry has it', async () => {
    await page.getByTestId('share-input').fill('25');
    await page.getByTestId('set-traffic').click();
    const dialog = page.getByTestId('confirm-dialog');
    assert.equal(await dialog.getByTestId('confirm').isDisabled(), true, 'no move without a reason');
    await dialog.getByLabel(/Reason/).fill('ramp up to a quarter');
    await dialog.getByTestId('confirm').click();
    await page.getByTestId('traffic').getByText('25 % · split').waitFor();
    assert.deepEqual((await getModel()).traffic, { challengerPercent: 25, mode: 'split' });
    const last = (await events()).at(-1)!;
    assert.equal(last.action, 'traffic.set');
    assert.match(last.actor, /^alice#\d+$/);
    assert.equal(last.reason, 'ramp up to a quarter');
  });

  it('promotes with a reason and shows the new audit row; the timeline answers who was champion on a date', async () => {
    await page.getByTestId('promote').click();
    const dialog = page.getByTestId('confirm-dialog');
    await dialog.getByLabel(/Reason/).fill('AUC 0.720 vs 0.700 on the holdout');
    await dialog.getByTestId('confirm').click();
    const promoted = page.locator('[data-testid="audit-row"][data-action="model.promoted"]');
    await promoted.getByText('AUC 0.720 vs 0.700 on the holdout').waitFor();
    assert.match(await promoted.innerText(), /alice#\d+\s+model\.promoted\s+promoted: champion → v2/);
    await page.getByTestId('champion').getByText('v2').waitFor();
    assert.deepEqual((await getModel()).aliases, { champion: 2 });

    const future = new Date(Date.now() + 3_600_000).toISOString().slice(0, 19);
    await page.getByTestId('replay-date').fill(future);
    assert.match(await page.getByTestId('replay-answer').innerText(), /champion v2, challenger none at 0 % · split/);
    await page.getByTestId('replay-date').fill('2020-01-01T00:00:00');
    assert.equal(await page.getByTestId('replay-answer').innerText(), 'the model did not exist yet');
    await shot('3-promoted');
  });

  it("shows a run's steps and error, cancels it and triggers a run, each through the scheduler with the user's key", async () => {
    await page.goto(`${reg.url}/#/runs/7`);
    await page.getByTestId('step-row').nth(2).waitFor();
    assert.match(await page.getByTestId('step-row').nth(1).innerText(), /train\s+retrying\s+2[\s\S]*worker exited with code 137/);
    await page.getByTestId('cancel-run').click();
    await page.getByTestId('confirm-dialog').getByTestId('confirm').click();
    await page.getByTestId('confirm-dialog').waitFor({ state: 'detached' });
    const cancel = stub.calls.find((c) => c.method === 'POST' && c.path === '/api/v1/runs/7/cancel');
    assert.equal(cancel?.authorization, `Bearer ${scientist}`);
    await shot('4-run');

    await page.goto(`${reg.url}/#/runs`);
    await page.getByTestId('run-row').first().waitFor();
    await page.getByLabel('model', { exact: true }).last().fill(MODEL);
    await page.getByRole('button', { name: 'Trigger…' }).click();
    await page.getByTestId('confirm-dialog').getByTestId('confirm').click();
    await page.getByRole('link', { name: '8' }).waitFor();
    const trigger = stub.calls.find((c) => c.method === 'POST' && c.path === '/api/v1/dags/retrain/runs');
    assert.deepEqual(trigger?.body, { model: MODEL });
  });

  it('shows a reader no write control', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(reader);
    assert.match(await page.getByTestId('who').innerText(), /rita · reader/);
    await page.getByRole('link', { name: MODEL }).click();
    await page.getByTestId('read-only').waitFor();
    await page.getByTestId('version-2').waitFor();
    for (const id of ['promote', 'rollback', 'set-traffic', 'set-alias', 'write-controls']) assert.equal(await page.getByTestId(id).count(), 0, id);
    assert.equal(await page.getByRole('button', { name: 'Trigger…' }).count(), 0);
    await page.goto(`${reg.url}/#/runs/7`);
    await page.getByTestId('step-row').first().waitFor();
    assert.equal(await page.getByTestId('cancel-run').count(), 0);
    await shot('5-reader');
  });

  it('says the scheduler is not reachable when it does not answer, and the registry parts still work', async () => {
    await stub.close();
    const proxied = await fetch(`${reg.url}/console/scheduler/api/v1/runs`, { headers: auth(reader) });
    assert.equal(proxied.status, 502);
    assert.equal(((await proxied.json()) as { error: { code: string } }).error.code, 'scheduler_unreachable');
    // A new document (not a hash change): the console asks whether the scheduler is there when it loads.
    await page.goto('about:blank');
    await page.goto(`${reg.url}/#/models/${MODEL}`);
    await page.getByTestId('scheduler-unreachable').waitFor();
    await page.getByTestId('version-2').waitFor();
    await page.getByTestId('experiment').getByTestId('scheduler-unavailable').waitFor();
    await page.getByTestId('drift').getByTestId('scheduler-unavailable').waitFor();
    await shot('6-no-scheduler');
  });

  it('logged no console error, warning or page error on any page', () => {
    assert.deepEqual(problems, []);
  });
});
