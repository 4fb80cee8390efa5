import { z } from 'zod';
import {
  ApiKeyList,
  CreateApiKeyRequest,
  CreatedApiKey,
  CreateModelRequest,
  DeleteAliasQuery,
  DeploymentList,
  EventList,
  IntrospectRequest,
  IntrospectResponse,
  ApiKeyInfo,
  ListEventsQuery,
  ListModelsQuery,
  ListVersionsQuery,
  Model,
  ModelList,
  ModelVersion,
  PromoteRequest,
  RollbackRequest,
  SetAliasRequest,
  SetTrafficRequest,
  VersionList,
  VersionMetadata,
  buildOpenApi,
  type RouteSpec,
} from '@contender/contracts';
import { datasetRouteSpecs } from './features/datasets/dataset-openapi.js';

const P = '/api/v1';

export const registryRoutes: RouteSpec[] = [
  { method: 'post', path: `${P}/models`, summary: 'Create a model', role: 'data-scientist', idempotent: true, body: CreateModelRequest, responses: { 201: { description: 'created', schema: Model }, 409: { description: 'name taken (model_exists)' } } },
  { method: 'get', path: `${P}/models`, summary: 'List models, by name, paginated', role: 'reader', query: ListModelsQuery, responses: { 200: { description: 'a page', schema: ModelList } } },
  { method: 'get', path: `${P}/models/{name}`, summary: 'A model with its aliases, traffic policy and latest version', role: 'reader', responses: { 200: { description: 'the model', schema: Model } } },
  {
    method: 'post',
    path: `${P}/models/{name}/versions`,
    summary: 'Register a version: multipart upload of the ONNX file and its metadata',
    description:
      'Parts: `artifact` (the .onnx file, streamed; over MAX_ARTIFACT_BYTES → 413) and `metadata` (JSON). The file is loaded in onnxruntime and refused with 422 when it is not ONNX (invalid_model), has non-tensor outputs such as a ZipMap (non_tensor_output), or featureNames that do not fit its inputs (feature_mismatch). Versions are numbered 1, 2, 3… per model. With an Idempotency-Key, the file\'s sha256 and the metadata part are the request\'s identity.',
    role: 'data-scientist',
    idempotent: true,
    rawBody: {
      required: true,
      content: {
        'multipart/form-data': {
          schema: { type: 'object', required: ['artifact'], properties: { artifact: { type: 'string', format: 'binary' }, metadata: z.toJSONSchema(VersionMetadata, { target: 'openapi-3.0', io: 'input', unrepresentable: 'any' }) } },
        },
      },
    },
    responses: { 201: { description: 'registered', schema: ModelVersion }, 413: { description: 'artifact too large' }, 422: { description: 'model refused' } },
  },
  { method: 'get', path: `${P}/models/{name}/versions`, summary: 'List versions, newest first', role: 'reader', query: ListVersionsQuery, responses: { 200: { description: 'a page', schema: VersionList } } },
  { method: 'get', path: `${P}/models/{name}/versions/{version}`, summary: 'One version', role: 'reader', responses: { 200: { description: 'the version', schema: ModelVersion } } },
  { method: 'get', path: `${P}/models/{name}/versions/{version}/artifact`, summary: 'Download the ONNX bytes (ETag = sha256)', role: 'reader', responses: { 200: { description: 'the bytes', contentType: 'application/octet-stream' }, 304: { description: 'If-None-Match matched' } } },
  { method: 'get', path: `${P}/models/{name}/versions/{version}/reference-profile`, summary: 'The drift reference profile stored with the version', role: 'reader', responses: { 200: { description: 'the profile (JSON)' } } },
  { method: 'put', path: `${P}/models/{name}/aliases/{alias}`, summary: 'Point an alias (champion, challenger, any other) at a version', role: 'data-scientist', body: SetAliasRequest, responses: { 200: { description: 'the model', schema: Model }, 409: { description: 'champion and challenger on one version (alias_conflict)' } } },
  { method: 'delete', path: `${P}/models/{name}/aliases/{alias}`, summary: 'Remove an alias (removing the challenger also sets its traffic share to 0)', role: 'data-scientist', query: DeleteAliasQuery, responses: { 200: { description: 'the model', schema: Model } } },
  { method: 'put', path: `${P}/models/{name}/traffic`, summary: "Set the challenger's share and mode (split or shadow)", role: 'data-scientist', body: SetTrafficRequest, responses: { 200: { description: 'the model', schema: Model }, 409: { description: 'a share above 0 without a challenger (no_challenger)' } } },
  { method: 'post', path: `${P}/models/{name}/promote`, summary: 'Make the challenger the champion (gated on the primary metric)', role: 'data-scientist', idempotent: true, body: PromoteRequest, responses: { 200: { description: 'the model', schema: Model }, 409: { description: 'promotion_gate_failed or no_challenger' } } },
  { method: 'post', path: `${P}/models/{name}/rollback`, summary: 'Restore the champion that held the alias before the last change', role: 'data-scientist', idempotent: true, body: RollbackRequest, responses: { 200: { description: 'the model', schema: Model }, 409: { description: 'nothing_to_roll_back' } } },
  { method: 'get', path: `${P}/models/{name}/events`, summary: 'The audit trail of a model, oldest first', role: 'reader', query: ListEventsQuery, responses: { 200: { description: 'a page', schema: EventList } } },
  { method: 'get', path: `${P}/deployments`, summary: 'Champion, challenger, previous champion and traffic of every model (what serving follows)', role: 'reader', responses: { 200: { description: 'deployments', schema: DeploymentList } } },
  { method: 'post', path: `${P}/api-keys`, summary: 'Create an API key (the key is shown once)', role: 'admin', body: CreateApiKeyRequest, responses: { 201: { description: 'created', schema: CreatedApiKey } } },
  { method: 'get', path: `${P}/api-keys`, summary: 'List API keys (never the keys themselves)', role: 'admin', responses: { 200: { description: 'keys', schema: ApiKeyList } } },
  { method: 'delete', path: `${P}/api-keys/{id}`, summary: 'Revoke an API key', role: 'admin', responses: { 200: { description: 'revoked', schema: ApiKeyInfo } } },
  ...datasetRouteSpecs,
  { method: 'post', path: `${P}/auth/introspect`, summary: 'Check a key: active, name and role (for the other services)', body: IntrospectRequest, responses: { 200: { description: 'the answer', schema: IntrospectResponse } } },
];

let cached: object | undefined;
export function registryOpenApi(): object {
  cached ??= buildOpenApi(
    {
      title: 'Contender registry',
      version: '1',
      description: 'Model versions, datasets, aliases, traffic policy, promotion and rollback, audit trail and API keys. Errors: { error: { code, message, details, requestId } }.',
    },
    registryRoutes,
  );
  return cached;
}
