import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { VersionMetadata } from '@contender/contracts';
import { GERMAN_CREDIT_CSV } from '@contender/fixtures';
import { parseReferenceProfile } from '@contender/ml';
import { runCli } from './cli.js';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));
const GERMAN_CREDIT = GERMAN_CREDIT_CSV;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The same invocation in-process, for the many short error cases (no process start-up each). */
async function contenderInProcess(...args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (t: string) => void) => ({ write: (t: string | Uint8Array) => (append(String(t)), true) }) as unknown as NodeJS.WritableStream;
  const code = await runCli(args, { stdout: sink((t) => (stdout += t)), stderr: sink((t) => (stderr += t)) });
  return { code, stdout, stderr };
}

/** Runs the built CLI as a user would (a child process, stdout a pipe, not a TTY). */
function contender(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * 600 rows with signal in `income` and `segment`: P(default) = σ(−1 + 1.5·z + segment effect).
 * Quoted fields with commas and CRLF line ends exercise the parser end to end.
 */
function writeSampleCsv(path: string): string {
  let state = 12345;
  const random = (): number => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  const lines = ['id,income,age,segment,note,defaulted'];
  const effect: Record<string, number> = { retail: 0, 'small business': 1, premium: -1.5 };
  const segments = Object.keys(effect);
  for (let i = 0; i < 600; i++) {
    const z = random() * 2 - 1;
    const segment = segments[i % 3]!;
    const p = 1 / (1 + Math.exp(-(-1 + 1.5 * z + effect[segment]!)));
    const income = i % 50 === 7 ? 'NA' : (50000 + 20000 * z).toFixed(0);
    lines.push(`${i + 1},${income},${20 + (i % 50)},"${segment}","note ${i}, ""quoted""",${random() < p ? 'yes' : 'no'}`);
  }
  const text = `${lines.join('\r\n')}\r\n`;
  writeFileSync(path, text);
  return text;
}

describe('contender CLI', () => {
  let dir: string;
  let csv: string;
  let csvText: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'contender-cli-'));
    csv = join(dir, 'loans.csv');
    csvText = writeSampleCsv(csv);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('lists its commands with --help and prints each command’s options', async () => {
    const top = await contender('--help');
    assert.equal(top.code, 0);
    assert.match(top.stdout, /train +train a binary classifier/);
    assert.match(top.stdout, /evaluate +score a CSV file/);
    for (const command of ['train', 'evaluate']) {
      const help = await contender(command, '--help');
      assert.equal(help.code, 0);
      assert.match(help.stdout, new RegExp(`^Usage: contender ${command} `));
    }
  });

  it('trains a GBDT, writes the ONNX model and a report that fits the registry’s version metadata', async () => {
    const out = join(dir, 'gbdt.onnx');
    const reportPath = join(dir, 'gbdt.json');
    const run = await contender('train', '--data', csv, '--label', 'defaulted', '--positive', 'yes', '--drop', 'id', '--drop', 'note', '--model', 'gbdt', '--trees', '60', '--depth', '3', '--learning-rate', '0.1', '--seed', '7', '--out', out, '--report', reportPath);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, '');
    // Not a TTY: plain progress lines rather than a redrawn bar.
    assert.match(run.stdout, /^trees +1\/60 +valid log loss/m);
    assert.doesNotMatch(run.stdout, /\r/);
    assert.match(run.stdout, /Split +70\/15\/15 stratified \(seed 7\): train 420, validation 90, test 90/);
    assert.match(run.stdout, /^ +AUC +0\.\d{4} \(95% CI/m);
    assert.ok(existsSync(out));

    const report = JSON.parse(readFileSync(reportPath, 'utf8')) as Record<string, unknown> & {
      metrics: Record<string, number>;
      featureNames: string[];
      source: { dataset: { uri: string; sha256: string; rows: number } };
      featureImportance: { method: string; values: { feature: string; importance: number }[] };
    };
    const { metrics, params, featureNames, source, referenceProfile, threshold } = report;
    VersionMetadata.parse({ metrics, params, featureNames, source, referenceProfile, threshold });
    assert.deepEqual(featureNames, ['income', 'age', 'segment=premium', 'segment=retail', 'segment=small business']);
    assert.equal(source.dataset.sha256, createHash('sha256').update(csvText).digest('hex'));
    assert.equal(source.dataset.rows, 600);
    assert.ok(metrics.auc! > 0.7 && metrics.auc! <= 1, `test AUC ${metrics.auc}`);
    assert.equal(report.featureImportance.method, 'gain');
    assert.equal(parseReferenceProfile(referenceProfile).features.length, 5);
  });

  it('evaluates its own model, taking the label column and positive class recorded in it', async () => {
    const out = join(dir, 'logreg.onnx');
    const train = await contender('train', '--data', csv, '--label', 'defaulted', '--positive', 'yes', '--drop', 'id', '--drop', 'note', '--model', 'logreg', '--out', out);
    assert.equal(train.code, 0, train.stderr);
    const run = await contender('evaluate', '--model', out, '--data', csv);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /5 features in the model's order \(contender\.feature_names\)/);
    assert.match(run.stdout, /Metrics: 600 rows, \d+ positive/);
    const auc = Number(/AUC +(0\.\d+)/.exec(run.stdout)?.[1]);
    assert.ok(auc > 0.7, `AUC ${auc}`);
  });

  it('exits with 2 and one line on stderr for bad usage', async () => {
    const spawned = await contender('train', '--label', 'defaulted', '--out', 'x.onnx');
    assert.equal(spawned.code, 2);
    assert.equal(spawned.stderr, 'contender train: --data is required (see contender train --help)\n');
    const cases = [
      [['train', '--label', 'defaulted', '--out', 'x.onnx'], /^contender train: --data is required \(see contender train --help\)\n$/],
      [['train', '--data', csv, '--label', 'defaulted', '--out', 'x.onnx', '--trees', 'many'], /^contender train: --trees must be an integer >= 1, got "many"/],
      [['train', '--data', csv, '--label', 'defaulted', '--out', 'x.onnx', '--model', 'forest'], /^contender train: --model must be one of gbdt, logreg/],
      [['train', '--data', csv, '--label', 'defaulted', '--out', 'x.onnx', '--l2', '2'], /^contender train: --l2 does not apply to --model gbdt/],
      [['evaluate', '--model', 'm.onnx', '--data', csv, '--colour'], /^contender evaluate: Unknown option '--colour'/],
      [['retrain'], /^contender: unknown command "retrain"/],
    ] as const;
    for (const [args, message] of cases) {
      const run = await contenderInProcess(...args);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message);
      assert.equal(run.stderr.trim().split('\n').length, 1);
    }
  });

  it('exits with 1 and names the line and column of a bad cell', async () => {
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'income,defaulted\n100,0\n200,1\n2O0,0\n');
    const run = await contenderInProcess('train', '--data', bad, '--label', 'defaulted', '--out', join(dir, 'bad.onnx'));
    assert.equal(run.code, 1);
    assert.equal(run.stderr, 'contender train: line 4, column "income": "2O0" is not a number (the column was read as numeric from its first value on line 2; list it as categorical to one-hot encode it)\n');
  });

  it('exits with 1 when the model file is not ONNX', async () => {
    const run = await contenderInProcess('evaluate', '--model', csv, '--data', csv, '--label', 'defaulted', '--positive', 'yes');
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^contender evaluate: .*loans\.csv is not a loadable ONNX model/);
  });

  it('trains on German credit (string codes, labels 1/2) and evaluates the exported model', async () => {
    const out = join(dir, 'german.onnx');
    const train = await contender('train', '--data', GERMAN_CREDIT, '--label', 'class', '--positive', '2', '--trees', '80', '--depth', '3', '--out', out);
    assert.equal(train.code, 0, train.stderr);
    assert.match(train.stdout, /1000 rows, 61 features \(13 one-hot encoded columns\)/);
    const run = await contender('evaluate', '--model', out, '--data', GERMAN_CREDIT, '--label', 'class', '--positive', '2');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /Metrics: 1000 rows, 300 positive \(30\.0%\)/);
    const auc = Number(/AUC +(0\.\d+)/.exec(run.stdout)?.[1]);
    assert.ok(auc > 0.75, `AUC ${auc}`);
  });
});
