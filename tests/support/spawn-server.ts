import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { PROJECT_ROOT } from '../../src/config/paths';

const ENTRY = path.join(PROJECT_ROOT, 'dist', 'src', 'cli', 'index.js');

export type ServerProcess = {
  child: ChildProcess;
  url: string;
  ca: string;
  dataDir: string;
  output(): string;
  http(): request.Agent;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
};

/**
 * Runs `slm serve` from the compiled build as a real child process (as `npm start` does) and
 * waits for its "listening" log line. `npm test` builds first (pretest).
 */
export async function spawnServer(env: Record<string, string> = {}, timeoutMs = 90_000, nodeArgs: string[] = []): Promise<ServerProcess> {
  if (!existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: run npm run build first`);
  const dataDir = env.SLM_DATA_DIR ?? mkdtempSync(path.join(os.tmpdir(), 'slm-proc-'));
  const child = spawn(process.execPath, [...nodeArgs, ENTRY, 'serve'], {
    env: { ...process.env, SLM_PORT: '0', SLM_BIND: '127.0.0.1', SLM_DATA_DIR: dataDir, SLM_CERTS_DIR: path.join(dataDir, 'certs'), SLM_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const check = () => {
      const m = /"address":"[^"]*:(\d+)"[^\n]*slm-onprem listening/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${out}`));
    });
  });
  const url = `https://127.0.0.1:${port}`;
  const ca = readFileSync(path.join(env.SLM_CERTS_DIR ?? path.join(dataDir, 'certs'), 'ca.pem'), 'utf8');
  return {
    child,
    url,
    ca,
    dataDir,
    output: () => out,
    http: () => request.agent(url).ca(ca),
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill(signal);
      }),
  };
}
