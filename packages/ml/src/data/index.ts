export { createRandom } from './random.js';
export { CsvParser, readCsvRecords, type CsvRecord } from './csv.js';
export { DataError } from './errors.js';
export {
  alignFeatures,
  loadCsvDataset,
  MISSING_TOKENS,
  oneHotColumns,
  parseNumber,
  readCsvDataset,
  readCsvHeader,
  type ColumnEncoding,
  type CsvDataset,
  type CsvDatasetOptions,
} from './load.js';
export { stratifiedSplit, type SplitOptions } from './split.js';
