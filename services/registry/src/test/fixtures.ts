import { readFileSync } from 'node:fs';
import { onnxFixture } from '@contender/fixtures';
import request from 'supertest';
import type { Express } from 'express';

/** Bytes of a real ONNX file from a public project (packages/fixtures/onnx, with provenance). */
export const fixture = (name: string) => readFileSync(onnxFixture(name));

/** sklearn-onnx's binary tree-ensemble classifier: input "input" float [N, ?]; its trees read features 0…19. */
export const TREECL2 = 'sklearn-onnx__tests_datasets_treecl2.onnx';
export const TREECL2_FEATURES = Array.from({ length: 20 }, (_, i) => `x${i}`);
/** onnxmltools' XGBoost regressor: input "X" float [N, 4], output "variable" float [N, 1]. */
export const XGB_REGRESSOR = 'onnxmltools__tests_xgboost_test_xgb.onnx';

export function uploadVersion(app: Express, key: string, model: string, bytes: Buffer, metadata?: unknown) {
  const req = request(app).post(`/api/v1/models/${model}/versions`).set('Authorization', `Bearer ${key}`).attach('artifact', bytes, 'model.onnx');
  return metadata === undefined ? req : req.field('metadata', typeof metadata === 'string' ? metadata : JSON.stringify(metadata));
}

export function createModel(app: Express, key: string, body: Record<string, unknown>) {
  return request(app).post('/api/v1/models').set('Authorization', `Bearer ${key}`).send(body);
}

export const auth = (key: string) => ({ Authorization: `Bearer ${key}` });
