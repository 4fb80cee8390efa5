import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatSplit, partOf, splitProfile, type CpuProfile } from './profile-split.js';

const ROOT = 'file:///work/contender';

describe('profile split', () => {
  it('names the part of a script: a dependency, node-postgres and onnxruntime as one each, a workspace folder', () => {
    assert.equal(partOf(`${ROOT}/node_modules/ioredis/built/Command.js`), 'ioredis');
    assert.equal(partOf(`${ROOT}/node_modules/pg-protocol/dist/parser.js`), 'pg');
    assert.equal(partOf(`${ROOT}/node_modules/pg/lib/client.js`), 'pg');
    assert.equal(partOf(`${ROOT}/node_modules/onnxruntime-common/dist/esm/inference-session-impl.js`), 'onnxruntime');
    assert.equal(partOf(`${ROOT}/node_modules/@opentelemetry/api/build/src/index.js`), '@opentelemetry/api');
    assert.equal(partOf(`${ROOT}/services/serving/dist/prediction-log/prediction-record.js`), 'serving/prediction-log');
    assert.equal(partOf(`${ROOT}/services/serving/dist/main.js`), 'serving');
    assert.equal(partOf(`${ROOT}/packages/platform/dist/http/errors.js`), 'platform');
    assert.equal(partOf('/work/contender/services/serving/dist/features/redis-feature-cache.js'), 'serving/features');
    assert.equal(partOf('node:internal/timers'), null);
    assert.equal(partOf(''), null);
  });

  it('gives each sample to the innermost package frame of its stack, and keeps idle out of the busy time', () => {
    const frame = (id: number, functionName: string, url: string, children: number[] = []) => ({ id, callFrame: { functionName, url }, children });
    const profile: CpuProfile = {
      nodes: [
        frame(1, '(root)', '', [2, 3, 4, 8]),
        frame(2, '(idle)', ''),
        frame(3, '(garbage collector)', ''),
        frame(4, 'append', `${ROOT}/services/serving/dist/prediction-log/prediction-log.js`, [5]),
        frame(5, 'toLogRow', `${ROOT}/services/serving/dist/prediction-log/prediction-record.js`, [6]),
        frame(6, 'from', 'node:buffer', [7]),
        frame(7, 'utf8Write', ''),
        frame(8, 'flushWrites', `${ROOT}/services/serving/dist/features/redis-feature-cache.js`, [9, 11]),
        frame(9, 'sendCommand', `${ROOT}/node_modules/ioredis/built/Redis.js`, [10]),
        frame(10, 'writev', 'node:net'),
        frame(11, 'processTicksAndRejections', 'node:internal/process/task_queues'),
      ],
      // One sample lasts until the next one: timeDeltas[i + 1] µs.
      samples: [2, 3, 7, 6, 10, 11, 5],
      timeDeltas: [0, 1000, 200, 50, 30, 70, 40, 25],
    };
    const split = splitProfile(profile);
    assert.equal(split.idleUs, 1000);
    assert.equal(split.busyUs, 200 + 50 + 30 + 70 + 40 + 25);
    assert.deepEqual(split.parts, [
      { part: 'serving/prediction-log', us: 50 + 30 + 25 },
      { part: 'GC', us: 200 },
      { part: 'ioredis', us: 70 },
      { part: 'serving/features', us: 40 },
    ].sort((a, b) => b.us - a.us));
    assert.deepEqual([...split.functions.get('serving/prediction-log')!], [['toLogRow prediction-record.js', 105]]);
  });

  it('prints both profiles side by side and sums the parts under 1 % of the busy time', () => {
    const split = (parts: Record<string, number>) => {
      const list = Object.entries(parts).map(([part, us]) => ({ part, us }));
      return { busyUs: list.reduce((t, p) => t + p.us, 0), idleUs: 0, parts: list, functions: new Map() };
    };
    const text = formatSplit(split({ log: 60_000, node: 39_500, pino: 300, zod: 200 }), split({ log: 10_000, node: 40_000 }), 1000);
    const lines = text.split('\n');
    assert.equal(lines[0], 'part | first | second | first − second');
    assert.equal(lines[1], 'busy | 100 ms (100.0 µs/req) | 50 ms (50.0 µs/req) | 50 ms (50.0 µs/req)');
    assert.ok(lines.includes('log | 60 ms (60.0 µs/req) | 10 ms (10.0 µs/req) | 50 ms (50.0 µs/req)'), text);
    assert.ok(lines.includes('the rest (2 parts) | 1 ms (0.5 µs/req) | 0 ms (0.0 µs/req) | 1 ms (0.5 µs/req)'), text);
    assert.ok(!text.includes('pino'), text);
  });
});
