import { z } from 'zod';
import {
  CreateDatasetRequest,
  Dataset,
  DatasetList,
  DatasetVersion,
  DatasetVersionList,
  DatasetVersionMetadata,
  EventList,
  ListDatasetVersionsQuery,
  ListDatasetsQuery,
  ListEventsQuery,
  type RouteSpec,
} from '@contender/contracts';

const P = '/api/v1';

/** The dataset endpoints in the registry's OpenAPI document. */
export const datasetRouteSpecs: RouteSpec[] = [
  {
    method: 'post',
    path: `${P}/datasets`,
    summary: 'Create a dataset (names follow the model-name rule)',
    role: 'data-scientist',
    idempotent: true,
    body: CreateDatasetRequest,
    responses: { 201: { description: 'created', schema: Dataset }, 409: { description: 'name taken (dataset_exists)' } },
  },
  { method: 'get', path: `${P}/datasets`, summary: 'List datasets, by name, paginated, each with its latest version', role: 'reader', query: ListDatasetsQuery, responses: { 200: { description: 'a page', schema: DatasetList } } },
  { method: 'get', path: `${P}/datasets/{name}`, summary: 'A dataset with its latest version', role: 'reader', responses: { 200: { description: 'the dataset', schema: Dataset } } },
  {
    method: 'post',
    path: `${P}/datasets/{name}/versions`,
    summary: 'Create a version: multipart upload of a CSV file and its metadata',
    description:
      'Parts: `file` (the CSV, streamed to the artifact store; its sha256, bytes and rows are counted on the way; over MAX_DATASET_BYTES → 413) and optional `metadata` (JSON: description, tags, source). The first line must name the columns. Refused with 422, naming the 1-based line and row: no header (csv_no_header), an empty or repeated column name (csv_invalid_header), a row with another number of fields than the header (csv_ragged_row), text after a closing quote (csv_invalid_quote), a quoted field never closed (csv_unterminated_quote). A refused upload leaves no row and no object. Versions are numbered 1, 2, 3… per dataset. With an Idempotency-Key, the file\'s sha256 and the metadata part are the request\'s identity.',
    role: 'data-scientist',
    idempotent: true,
    rawBody: {
      required: true,
      content: {
        'multipart/form-data': {
          schema: {
            type: 'object',
            required: ['file'],
            properties: { file: { type: 'string', format: 'binary' }, metadata: z.toJSONSchema(DatasetVersionMetadata, { target: 'openapi-3.0', io: 'input', unrepresentable: 'any' }) },
          },
        },
      },
    },
    responses: { 201: { description: 'created', schema: DatasetVersion }, 413: { description: 'file too large' }, 422: { description: 'CSV refused, naming the row' } },
  },
  { method: 'get', path: `${P}/datasets/{name}/versions`, summary: 'List versions, newest first', role: 'reader', query: ListDatasetVersionsQuery, responses: { 200: { description: 'a page', schema: DatasetVersionList } } },
  { method: 'get', path: `${P}/datasets/{name}/versions/{version}`, summary: 'One version; {version} is a number or `latest`', role: 'reader', responses: { 200: { description: 'the version', schema: DatasetVersion } } },
  {
    method: 'get',
    path: `${P}/datasets/{name}/versions/{version}/content`,
    summary: 'Download the CSV bytes (ETag = sha256; {version} is a number or `latest`)',
    role: 'reader',
    responses: { 200: { description: 'the bytes', contentType: 'text/csv' }, 304: { description: 'If-None-Match matched' } },
  },
  { method: 'get', path: `${P}/datasets/{name}/events`, summary: 'The audit trail of a dataset, oldest first', role: 'reader', query: ListEventsQuery, responses: { 200: { description: 'a page', schema: EventList } } },
];
