// promtool's own checks: every service's /metrics as Prometheus' linter reads it, and the rule files.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startPlatform } from './platform-processes.mjs';
import { ALERT_RULES, ALERT_TESTS, run } from './prometheus.mjs';

/** promtool check metrics reads the exposition from stdin. */
function checkMetrics(text) {
  return new Promise((resolve) => {
    const c = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (out += d));
    c.once('exit', (code) => resolve({ code, out }));
    c.stdin.end(text);
  });
}

describe('promtool', { timeout: 300_000 }, () => {
  let platform;
  before(async () => {
    platform = await startPlatform({ services: ['serving', 'scheduler'] });
  });
  after(() => platform?.stop());

  for (const service of ['registry', 'serving', 'scheduler']) {
    it(`check metrics passes on ${service}'s /metrics`, async () => {
      const text = await (await fetch(`${platform.urls[service]}/metrics`)).text();
      assert.match(text, new RegExp(`${service}_http_request_duration_seconds`), 'the service exposes its own metrics');
      const { code, out } = await checkMetrics(text);
      assert.equal(out.trim(), '', 'no lint finding');
      assert.equal(code, 0);
    });
  }

  it('check rules passes on prometheus/alerts.yml', async () => {
    const { stdout } = await run('promtool', ['check', 'rules', ALERT_RULES]);
    assert.match(stdout, /SUCCESS: \d+ rules found/);
  });

  it('test rules passes on prometheus/alerts.test.yml, which tests every alert rule', async () => {
    const { stdout } = await run('promtool', ['test', 'rules', ALERT_TESTS]);
    assert.match(stdout, /SUCCESS/);
    const tests = readFileSync(ALERT_TESTS, 'utf8');
    const alerts = [...readFileSync(ALERT_RULES, 'utf8').matchAll(/^\s+- alert: (\w+)$/gm)].map((m) => m[1]);
    assert.ok(alerts.length >= 20, 'the rule file was read');
    const untested = alerts.filter((a) => !new RegExp(`alertname: ${a}\\n\\s+exp_alerts:\\n\\s+- exp_labels`).test(tests));
    assert.deepEqual(untested, [], 'every alert has a unit test in which it fires');
  });
});
