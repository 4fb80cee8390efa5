import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ContenderApiError } from './errors.js';
import { RegistryClient } from './registry-client.js';

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

describe('the SDK transport maps answers to results and errors', () => {
  let server: Server;
  let base: string;
  let handler: Handler = (_req, res) => res.end();
  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => handler(req, res, Buffer.concat(chunks)));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const client = (apiKey = 'ctk_k') => new RegistryClient({ baseUrl: `${base}/`, apiKey });
  const rejection = async (p: Promise<unknown>): Promise<ContenderApiError> => {
    const err = await p.then(
      () => assert.fail('expected a rejection'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ContenderApiError, `expected a ContenderApiError, got ${String(err)}`);
    return err;
  };

  it('turns an error body into a ContenderApiError with its code, message, details and request id', async () => {
    handler = (_req, res) => {
      res.writeHead(409, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'model_exists', message: 'model "m" exists', details: { name: 'm' }, requestId: 'req-1' } }));
    };
    const err = await rejection(client().createModel({ name: 'm', task: 'binary_classification' }));
    assert.equal(err.status, 409);
    assert.equal(err.code, 'model_exists');
    assert.equal(err.message, 'model "m" exists');
    assert.deepEqual(err.details, { name: 'm' });
    assert.equal(err.requestId, 'req-1');
    assert.equal(err.retryable, false);
  });

  it('names a non-JSON error by its status and keeps the x-request-id header', async () => {
    handler = (_req, res) => {
      res.writeHead(502, { 'content-type': 'text/plain', 'x-request-id': 'req-2' });
      res.end('bad gateway from the proxy');
    };
    const err = await rejection(client().getModel('m'));
    assert.equal(err.status, 502);
    assert.equal(err.code, 'http_502');
    assert.match(err.message, /bad gateway from the proxy/);
    assert.equal(err.requestId, 'req-2');
    assert.equal(err.retryable, true);
  });

  it('reports a refused connection as unreachable (status 0, retryable)', async () => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const err = await rejection(new RegistryClient({ baseUrl: `http://127.0.0.1:${port}` }).getModel('m'));
    assert.equal(err.status, 0);
    assert.equal(err.code, 'unreachable');
    assert.equal(err.retryable, true);
  });

  it('sends the key as a bearer token, JSON bodies and the Idempotency-Key header', async () => {
    let seen: { auth?: string; key?: string; type?: string; path?: string; body?: unknown } = {};
    handler = (req, res, body) => {
      seen = { auth: req.headers.authorization, key: req.headers['idempotency-key'] as string, type: req.headers['content-type'], path: req.url, body: JSON.parse(body.toString()) };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"name":"m"}');
    };
    const model = await client('ctk_secret').rollback('m', { reason: 'r' }, { idempotencyKey: 'run-1:rollback' });
    assert.equal(model.name, 'm');
    assert.deepEqual(seen, { auth: 'Bearer ctk_secret', key: 'run-1:rollback', type: 'application/json', path: '/api/v1/models/m/rollback', body: { reason: 'r' } });
  });

  it('streams a multipart upload with the metadata part and the file part', async () => {
    let received = '';
    let type = '';
    handler = (req, res, body) => {
      received = body.toString();
      type = req.headers['content-type'] ?? '';
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end('{"dataset":"d","version":1}');
    };
    async function* rows() {
      yield 'a,b\n';
      yield new TextEncoder().encode('1,2\n');
    }
    const v = await client().uploadDatasetVersion('d', { file: rows(), metadata: { description: 'x' } }, { idempotencyKey: 'k' });
    assert.equal(v.version, 1);
    const boundary = /boundary=(.+)$/.exec(type)?.[1];
    assert.ok(boundary);
    assert.match(received, /name="metadata"\r\nContent-Type: application\/json\r\n\r\n\{"description":"x"\}\r\n/);
    assert.match(received, /name="file"; filename="d.csv"\r\nContent-Type: text\/csv\r\n\r\na,b\n1,2\n\r\n/);
    assert.ok(received.endsWith(`--${boundary}--\r\n`));
  });
});
