import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile, appendFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '@contender/platform';
import { SpillFile } from './spill-file.js';
import { lineText, toLogRow, type LogRow } from './prediction-record.js';
import { makeRecords } from './test-helpers.js';

const makeRows = (n: number): LogRow[] => makeRecords(n).map(toLogRow);

const logger = createLogger('serving', 'silent');
const dirs: string[] = [];
async function freshSpill(): Promise<SpillFile> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'spill-file-'));
  dirs.push(dir);
  const spill = new SpillFile(path.join(dir, 'nested'), logger);
  await spill.open();
  return spill;
}
async function readAll(spill: SpillFile, file: string, batchSize = 3): Promise<LogRow[][]> {
  const batches: LogRow[][] = [];
  for await (const b of spill.readBatches(file, batchSize)) batches.push(b);
  return batches;
}
const exists = (f: string) => stat(f).then(() => true, () => false);

after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('spill file', () => {
  it('creates its folder and starts with no backlog', async () => {
    const spill = await freshSpill();
    assert.equal(spill.hasBacklog(), false);
    assert.equal(await spill.claimForReplay(), null);
  });

  it('reads appended records back in order, in batches', async () => {
    const spill = await freshSpill();
    const records = makeRows(7);
    await spill.append(records.slice(0, 4));
    await spill.append(records.slice(4));
    assert.equal(spill.hasBacklog(), true);
    const file = await spill.claimForReplay();
    assert.equal(file, spill.replayingPath);
    const batches = await readAll(spill, spill.replayingPath);
    assert.deepEqual(batches.map((b) => b.length), [3, 3, 1]);
    assert.deepEqual(batches.flat().map((r) => r.id), records.map((r) => r.id));
    assert.deepEqual(batches.flat()[0], records[0]);
  });

  it('sends new appends to a fresh spill file once the old one is claimed for replay', async () => {
    const spill = await freshSpill();
    const [a, b] = [makeRows(2), makeRows(2)];
    await spill.append(a);
    await spill.claimForReplay();
    await spill.append(b);
    assert.deepEqual((await readAll(spill, spill.replayingPath)).flat().map((r) => r.id), a.map((r) => r.id));
    assert.deepEqual((await readAll(spill, spill.spillPath)).flat().map((r) => r.id), b.map((r) => r.id));
  });

  it('offers a leftover replaying file again until it is finished, then the spill file, then nothing', async () => {
    const spill = await freshSpill();
    await spill.append(makeRows(1));
    assert.equal(await spill.claimForReplay(), spill.replayingPath);
    await spill.append(makeRows(1));
    assert.equal(await spill.claimForReplay(), spill.replayingPath, 'an unfinished replay comes first');
    await spill.finishReplay();
    assert.equal(await exists(spill.replayingPath), false);
    assert.equal(await spill.claimForReplay(), spill.replayingPath);
    await spill.finishReplay();
    assert.equal(await spill.claimForReplay(), null);
    assert.equal(spill.hasBacklog(), false);
  });

  it('notices files an earlier process left behind', async () => {
    const first = await freshSpill();
    await first.append(makeRows(1));
    const again = new SpillFile(first.dir, logger);
    await again.open();
    assert.equal(again.hasBacklog(), true);
  });

  it('cuts a torn last line so that later appends stay readable', async () => {
    const first = await freshSpill();
    const [kept, torn, later] = [makeRows(2), makeRows(1), makeRows(2)];
    await first.append(kept);
    const line = lineText(torn[0]!);
    await appendFile(first.spillPath, line.slice(0, line.length / 2));
    const again = new SpillFile(first.dir, logger);
    await again.open();
    await again.append(later);
    const ids = (await readAll(again, again.spillPath)).flat().map((r) => r.id);
    assert.deepEqual(ids, [...kept, ...later].map((r) => r.id));
  });

  it('skips an unreadable line while replaying instead of giving up on the file', async () => {
    const spill = await freshSpill();
    const records = makeRows(2);
    const [a, b] = records.map(lineText);
    await writeFile(spill.spillPath, `${a}\n{"id":"torn\n${b!.slice(0, 30)}\n${b}\n`);
    const batches = await readAll(spill, spill.spillPath, 10);
    assert.deepEqual(batches.flat().map((r) => r.id), records.map((r) => r.id));
  });

  it('keeps rejected rows with their reason in a file of their own', async () => {
    const spill = await freshSpill();
    const [r] = makeRows(1);
    await spill.reject([{ id: r!.id, reason: 'date out of range', row: lineText(r!) }]);
    const line = JSON.parse((await readFile(spill.rejectedPath, 'utf8')).trim()) as { id: string; reason: string; row: string };
    assert.deepEqual(line, { id: r!.id, reason: 'date out of range', row: lineText(r!) });
    assert.equal(spill.hasBacklog(), false);
  });

  it('appends synchronously when asked to, readable like any other append', async () => {
    const spill = await freshSpill();
    const records = makeRows(3);
    spill.appendSync(records);
    assert.equal(spill.hasBacklog(), true);
    assert.deepEqual((await readAll(spill, spill.spillPath)).flat(), records);
  });
});
