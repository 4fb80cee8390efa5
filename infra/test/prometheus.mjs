// A real Prometheus (Debian's package) on a free loopback port, scraping the given targets every
// second and evaluating the project's rule files: for the dashboards and alerts test.
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './platform-processes.mjs';
import { repoRoot } from './fresh-clone.mjs';

export const run = promisify(execFile);
export const ALERT_RULES = path.join(repoRoot, 'prometheus/alerts.yml');
export const ALERT_TESTS = path.join(repoRoot, 'prometheus/alerts.test.yml');

/**
 * The rule file as a scenario of a few minutes can see it fire: every `for:` set to 0s. What
 * `for:` adds (holding an alert pending) is shown by the promtool unit tests instead.
 */
export function rulesWithoutHold(file, dir) {
  const out = path.join(dir, path.basename(file));
  writeFileSync(out, readFileSync(file, 'utf8').replace(/^(\s+)for: .*$/gm, '$1for: 0s'));
  return out;
}

export async function startPrometheus({ targets, ruleFiles = [], holdRules = false }) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'contender-prometheus-'));
  const port = await freePort();
  const rules = ruleFiles.map((f) => (holdRules ? (copyFileSync(f, path.join(dir, path.basename(f))), path.join(dir, path.basename(f))) : rulesWithoutHold(f, dir)));
  const scrape = Object.entries(targets).map(([job, urls]) => ({
    job_name: job,
    scrape_interval: '1s',
    scrape_timeout: '900ms',
    static_configs: [{ targets: [].concat(urls).map((u) => new URL(u).host) }],
  }));
  // JSON is YAML: no YAML library needed to write the config.
  writeFileSync(
    path.join(dir, 'prometheus.yml'),
    JSON.stringify({ global: { scrape_interval: '1s', evaluation_interval: '1s' }, rule_files: rules, scrape_configs: scrape }),
  );
  const child = spawn(
    'prometheus',
    [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  child.stdout.on('data', (d) => (log = (log + d).slice(-20_000)));
  child.stderr.on('data', (d) => (log = (log + d).slice(-20_000)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}):\n${log}`);
    try {
      if ((await fetch(`${url}/-/ready`)).ok) break;
    } catch {
      /* starting */
    }
    if (Date.now() > deadline) throw new Error(`prometheus not ready in 60 s:\n${log}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const api = async (p, params = {}) => {
    const res = await fetch(`${url}/api/v1/${p}?${new URLSearchParams(params)}`);
    const body = await res.json();
    return body;
  };
  return {
    url,
    log: () => log,
    /** An instant query: { status, data: { resultType, result }, error? } */
    query: (expr) => api('query', { query: expr }),
    alerts: async () => (await api('alerts')).data.alerts,
    rules: async () => (await api('rules')).data.groups,
    targets: async () => (await api('targets')).data.activeTargets,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `fn` until it returns a truthy value or the deadline passes (then throws naming `what`). */
export async function waitFor(what, fn, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
