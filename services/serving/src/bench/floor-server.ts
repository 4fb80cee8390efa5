/**
 * The benchmark's floor: a bare node:http JSON endpoint doing the least any JSON API must do —
 * read the body, JSON.parse it, answer a small JSON object — on the same machine, in a process of
 * its own like serving. Prints its port on stdout.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { model?: string };
    const json = JSON.stringify({ predictionId: randomUUID(), model: body.model, version: 1, variant: 'champion', score: 0.5, label: 1 });
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(json) });
    res.end(json);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
