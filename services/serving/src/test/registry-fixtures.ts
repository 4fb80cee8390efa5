import { readFileSync } from 'node:fs';
import { onnxFixture } from '@contender/fixtures';

/** The bytes of a real ONNX file from a public project (@contender/fixtures, see its README). */
export const fixture = (name: string): Buffer => readFileSync(onnxFixture(name));

/** sklearn-onnx's binary tree-ensemble classifier: input "input" float [N, 20], outputs label_2, proba_2 [N, 2]. */
export const TREECL2 = 'sklearn-onnx__tests_datasets_treecl2.onnx';
export const TREECL2_FEATURES = Array.from({ length: 20 }, (_, i) => `x${i}`);
/** onnxmltools' XGBoost regressor: input "X" float [N, 4], output "variable" [N, 1]. */
export const XGB_REGRESSOR = 'onnxmltools__tests_xgboost_test_xgb.onnx';

/** A small client of the registry's API, for setting up deployments in tests. */
export class RegistryAdmin {
  constructor(
    readonly url: string,
    private readonly key: string,
  ) {}

  async call<T = unknown>(method: string, p: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.url}/api/v1${p}`, {
      method,
      headers: { authorization: `Bearer ${this.key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${p} → ${res.status}: ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  createModel(name: string, task: 'binary_classification' | 'regression' = 'binary_classification') {
    return this.call('POST', '/models', { name, task });
  }

  /** Registers a version; resolves with its number. */
  async registerVersion(model: string, artifact: Buffer, metadata: Record<string, unknown>): Promise<number> {
    const form = new FormData();
    form.append('metadata', JSON.stringify({ metrics: { auc: 0.8 }, ...metadata }));
    form.append('artifact', new Blob([artifact]), 'model.onnx');
    const res = await fetch(`${this.url}/api/v1/models/${model}/versions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.key}` },
      body: form,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`register ${model} → ${res.status}: ${text}`);
    return (JSON.parse(text) as { version: number }).version;
  }

  setAlias(model: string, alias: string, version: number) {
    return this.call('PUT', `/models/${model}/aliases/${alias}`, { version });
  }

  setTraffic(model: string, challengerPercent: number, mode: 'split' | 'shadow' = 'split') {
    return this.call('PUT', `/models/${model}/traffic`, { challengerPercent, mode });
  }

  promote(model: string) {
    return this.call('POST', `/models/${model}/promote`, { force: true, reason: 'test' });
  }
}
