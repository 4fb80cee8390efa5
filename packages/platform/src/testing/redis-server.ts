import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './net.js';

/** A redis-server of a test's own, which the test may stop and start again on the same port. */
export interface TestRedisServer {
  url: string;
  port: number;
  /** Starts it (again); resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops it; resolves once the process has exited. */
  stop(): Promise<void>;
}

/** Starts `redis-server` on a free loopback port, without persistence. */
export async function startRedisServer(): Promise<TestRedisServer> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const server: TestRedisServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    async start() {
      if (child) return;
      const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      child = proc;
      await new Promise<void>((resolve, reject) => {
        let out = '';
        proc.once('error', reject);
        proc.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
        proc.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('Ready to accept connections')) resolve();
        });
      });
      proc.removeAllListeners('exit');
      proc.stdout!.resume();
    },
    async stop() {
      const proc = child;
      if (!proc) return;
      child = null;
      if (proc.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        proc.once('exit', () => resolve());
        proc.kill('SIGKILL');
      });
    },
  };
  await server.start();
  return server;
}

