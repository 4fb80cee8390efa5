import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { alignFeatures, DataError, evaluateBinaryClassifier, loadCsvDataset, oneHotColumns, readCsvHeader, type Matrix } from '@contender/ml';
import { checkWritable, HELP_OPTION, numberOption, required, usageErrors, UsageError } from './args.js';
import type { CliIo, Command } from './command.js';
import { flatMetrics, metricsLines } from './format.js';
import { FEATURE_NAMES_KEY, loadOnnxScorer } from './onnx-scorer.js';

/** Metadata entry `contender train` writes: {"column", "positive", "negative"} of the label. */
const LABEL_KEY = 'training.label';

const HELP = `Usage: contender evaluate --model <model.onnx> --data <csv> --label <column> [options]

Score a CSV file with a binary-classifier ONNX model (onnxruntime-node) and print its metrics.
Any exporter's model works if it has one float tensor input [rows, features] and a float
probability output: the output whose name contains "prob" (else the first float output), read as
column 1 of [N, 2] or the value of [N, 1] / [N].
Feature order comes from the model's ${FEATURE_NAMES_KEY} metadata when present (one-hot features
"column=value" are rebuilt from the CSV, other columns are ignored); otherwise it is the CSV's
column order without the label and dropped columns.

  --model <file>           ONNX model (required)
  --data <file>            CSV file with a header row (required)
  --label <column>         label column (required unless the model was made by contender train,
                           which records it)
  --positive <value>       label value of the positive class (default: the one recorded in the
                           model, else labels must be 0/1)
  --drop <column>          leave a column out; repeatable
  --categorical <column>   one-hot encode a column even if its values look numeric; repeatable
                           (only for models without feature-name metadata)
  --threshold <x>          decision threshold for accuracy/precision/recall/F1 (default 0.5)
  --report <file>          also write the metrics as JSON
  -h, --help               show this help

Exit codes: 0 done, 1 bad data or model, 2 bad usage.`;

const OPTIONS = {
  ...HELP_OPTION,
  model: { type: 'string' },
  data: { type: 'string' },
  label: { type: 'string' },
  positive: { type: 'string' },
  drop: { type: 'string', multiple: true },
  categorical: { type: 'string', multiple: true },
  threshold: { type: 'string' },
  report: { type: 'string' },
} as const;

function recordedLabel(metadata: Readonly<Record<string, string>>): { column?: string; positive?: string } {
  const text = metadata[LABEL_KEY];
  if (text === undefined) return {};
  try {
    const parsed = JSON.parse(text) as { column?: unknown; positive?: unknown };
    return {
      ...(typeof parsed.column === 'string' ? { column: parsed.column } : {}),
      ...(typeof parsed.positive === 'string' ? { positive: parsed.positive } : {}),
    };
  } catch {
    return {};
  }
}

async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const { values: v } = usageErrors(() => parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: false }));
  if (v.help) {
    io.stdout.write(`${HELP}\n`);
    return 0;
  }
  const modelPath = required(v.model, '--model');
  const dataPath = required(v.data, '--data');
  const threshold = numberOption(v.threshold, '--threshold', { min: 0, max: 1 }) ?? 0.5;
  if (v.report) await checkWritable(v.report, '--report');
  const say = (line: string): void => void io.stdout.write(`${line}\n`);

  const scorer = await loadOnnxScorer(modelPath);
  try {
    const recorded = recordedLabel(scorer.metadata);
    const label = v.label ?? recorded.column;
    if (label === undefined) throw new UsageError('--label is required (the model does not record its label column)');
    // The recorded positive class belongs to the recorded label column only.
    const positive = v.positive ?? (label === recorded.column ? recorded.positive : undefined);

    let X: Matrix;
    let y: Float64Array;
    let rows: number;
    const names = scorer.featureNames;
    if (names) {
      if (v.categorical) throw new UsageError('--categorical applies only to models without feature-name metadata');
      const header = await readCsvHeader(dataPath);
      const oneHot = oneHotColumns(names, header);
      // Columns the model does not use are not parsed at all, so a stray text column cannot fail the run.
      const used = new Set([...names, ...oneHot, label]);
      const drop = [...new Set([...(v.drop ?? []), ...header.filter((h) => !used.has(h))])];
      const ds = await loadCsvDataset(dataPath, { label, positive, drop, categorical: oneHot });
      X = alignFeatures(ds, names);
      ({ y, rows } = ds);
      say(`Data      ${dataPath}: ${rows} rows; ${names.length} features in the model's order (${FEATURE_NAMES_KEY})`);
    } else {
      const ds = await loadCsvDataset(dataPath, { label, positive, drop: v.drop, categorical: v.categorical });
      if (scorer.inputWidth !== null && ds.X.cols !== scorer.inputWidth) {
        throw new DataError(
          `the model takes ${scorer.inputWidth} features but the CSV gives ${ds.X.cols} (${ds.featureNames.join(', ')}); ` +
            'drop columns the model does not use with --drop',
        );
      }
      X = ds.X;
      ({ y, rows } = ds);
      say(`Data      ${dataPath}: ${rows} rows; ${X.cols} features in CSV column order (the model has no ${FEATURE_NAMES_KEY} metadata)`);
    }
    say(`Model     ${modelPath}: input "${scorer.inputName}", probabilities from output "${scorer.outputName}"`);
    const scores = await scorer.score(X);
    const report = evaluateBinaryClassifier(y, scores, { threshold });
    say('');
    for (const line of metricsLines('Metrics', report)) say(line);
    if (v.report) {
      await writeFile(v.report, `${JSON.stringify({ model: modelPath, data: dataPath, metrics: flatMetrics(report), evaluation: report }, null, 2)}\n`);
      say(`Report    ${v.report}`);
    }
    return 0;
  } finally {
    await scorer.release();
  }
}

export const evaluateCommand: Command = {
  name: 'evaluate',
  summary: 'score a CSV file with a binary-classifier ONNX model and print its metrics',
  help: HELP,
  run,
};
