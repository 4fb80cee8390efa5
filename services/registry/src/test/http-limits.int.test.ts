import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startTestRegistry, type TestRegistry } from '../testing.js';

/** What came back on a raw connection: the bytes the server sent, and how many the client got out first. */
interface Outcome {
  response: string;
  sentBytes: number;
}

/**
 * Opens a raw socket, sends `head`, then keeps writing `chunk` (as HTTP chunks) until the server
 * answers or closes, or `maxBytes` were sent. Backpressure is honoured, so `sentBytes` is what
 * the client managed to push before the server stopped it.
 */
function stream(url: string, head: string, chunk: Buffer, maxBytes: number, chunked = true): Promise<Outcome> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    let response = '';
    let sentBytes = 0;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve({ response, sentBytes });
    };
    socket.on('data', (d) => {
      response += d.toString('latin1');
      if (response.includes('\r\n\r\n')) setImmediate(finish); // the head is in: enough to judge
    });
    socket.on('close', finish);
    socket.on('error', finish);
    const pump = () => {
      while (!done && sentBytes < maxBytes) {
        const framed = chunked ? Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]) : chunk;
        sentBytes += chunk.length;
        if (!socket.write(framed)) {
          socket.once('drain', pump);
          return;
        }
      }
    };
    socket.on('connect', () => {
      socket.write(head);
      pump();
    });
  });
}

const status = (o: Outcome) => Number(/^HTTP\/1\.1 (\d{3})/.exec(o.response)?.[1] ?? 0);

describe('request bodies the registry refuses to read', () => {
  let reg: TestRegistry;
  let key: string;
  const MiB = 1024 * 1024;
  const chunk = Buffer.alloc(64 * 1024, 0x20); // spaces: valid JSON whitespace, so only the size is wrong

  before(async () => {
    reg = await startTestRegistry({ env: { HTTP_BODY_TIMEOUT_MS: '1000', HTTP_HEADERS_TIMEOUT_MS: '1000' } });
    key = await reg.createKey('data-scientist');
  });
  after(() => reg.close());

  const post = (path: string, headers: Record<string, string>) =>
    `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('')}\r\n`;

  it('answers a chunked stream to /auth/introspect with 413 long before 256 MiB were sent, and closes the connection', async () => {
    const o = await stream(reg.url, post('/api/v1/auth/introspect', { 'Transfer-Encoding': 'chunked' }), chunk, 256 * MiB);
    assert.equal(status(o), 413, o.response);
    assert.match(o.response, /\r\nconnection: close\r\n/i);
    assert.ok(o.sentBytes < 32 * MiB, `the client pushed ${o.sentBytes} bytes before the answer (limit 1 MiB)`);
  });

  it('answers a chunked stream to /models with a valid key with 413 long before it is all sent', async () => {
    const o = await stream(reg.url, post('/api/v1/models', { 'Transfer-Encoding': 'chunked', Authorization: `Bearer ${key}` }), chunk, 256 * MiB);
    assert.equal(status(o), 413, o.response);
    assert.ok(o.sentBytes < 32 * MiB, `the client pushed ${o.sentBytes} bytes before the answer`);
  });

  it('answers a declared Content-Length over the limit with 413 before reading any of it', async () => {
    const o = await stream(reg.url, post('/api/v1/models', { 'Content-Length': String(512 * MiB), Authorization: `Bearer ${key}` }), chunk, 0, false);
    assert.equal(status(o), 413, o.response);
  });

  it('answers a body without a key with 401 before reading it', async () => {
    // Only the head is sent: the answer cannot depend on any byte of the body.
    for (const path of ['/api/v1/models', '/api/v1/api-keys', '/api/v1/models/m/versions']) {
      const o = await stream(reg.url, post(path, { 'Content-Length': String(100 * MiB) }), chunk, 0, false);
      assert.equal(status(o), 401, `${path}: ${o.response}`);
      assert.match(o.response, /\r\nconnection: close\r\n/i);
    }
    const unknown = await stream(reg.url, post('/api/v1/models', { 'Transfer-Encoding': 'chunked', Authorization: 'Bearer ctk_not_a_key' }), chunk, 0);
    assert.equal(status(unknown), 401, unknown.response);
  });

  it('drops a body trickled one byte at a time once HTTP_BODY_TIMEOUT_MS has passed', async () => {
    const { hostname, port } = new URL(reg.url);
    const outcome = await new Promise<{ response: string; closed: boolean }>((resolve) => {
      const socket = net.connect(Number(port), hostname);
      let response = '';
      let timer: NodeJS.Timeout | undefined;
      socket.on('connect', () => {
        socket.write(post('/api/v1/auth/introspect', { 'Content-Length': '1000' }));
        socket.write('{');
        // The stimulus: one byte every 200 ms, far slower than any real client.
        timer = setInterval(() => socket.write(' '), 200);
      });
      socket.on('data', (d) => {
        response += d.toString('latin1');
      });
      socket.on('close', () => {
        clearInterval(timer);
        resolve({ response, closed: true });
      });
      socket.on('error', () => {});
    });
    assert.equal(outcome.closed, true);
    assert.match(outcome.response, /^HTTP\/1\.1 408/);
    assert.match(outcome.response, /request_timeout/);
  });

  it('closes a connection whose headers never finish within HTTP_HEADERS_TIMEOUT_MS', async () => {
    const { hostname, port } = new URL(reg.url);
    const response = await new Promise<string>((resolve) => {
      const socket = net.connect(Number(port), hostname);
      let text = '';
      let timer: NodeJS.Timeout | undefined;
      socket.on('connect', () => {
        socket.write('POST /api/v1/auth/introspect HTTP/1.1\r\nHost: x\r\n');
        timer = setInterval(() => socket.write('X'), 200); // a header line that never ends
      });
      socket.on('data', (d) => {
        text += d.toString('latin1');
      });
      socket.on('close', () => {
        clearInterval(timer);
        resolve(text);
      });
      socket.on('error', () => {});
    });
    assert.match(response, /^HTTP\/1\.1 408 /, 'node answers 408 and closes');
  });

  it('still answers a body within the limits as before', async () => {
    const res = await fetch(`${reg.url}/api/v1/models`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ name: 'fine', task: 'regression' }),
    });
    assert.equal(res.status, 201);
  });
});
