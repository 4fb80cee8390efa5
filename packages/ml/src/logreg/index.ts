export {
  DEFAULT_LOGREG_PARAMS,
  LOGREG_FORMAT,
  LogRegModel,
  resolveLogRegParams,
  trainLogReg,
  type LogRegModelJson,
  type LogRegParams,
} from './logreg.js';
