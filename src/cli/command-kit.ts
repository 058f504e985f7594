import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { ApiClient, ApiError } from './api-client';

/** Options every admin command shares: where the server is and who logs in. */
export function withApiOptions(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'server base URL ($SLM_URL)', process.env.SLM_URL ?? 'https://127.0.0.1:8443')
    .option('--user <name>', 'admin user ($SLM_ADMIN_USER)', process.env.SLM_ADMIN_USER ?? 'admin')
    .option('--password <password>', 'admin password (default: $SLM_ADMIN_PASSWORD)')
    .option('--ca <file>', 'CA certificate to trust (default: certs/ca.pem)')
    .option('--servername <name>', 'name the server certificate must carry when the URL host differs (a node reached by its own address)')
    .option('--json', 'print JSON instead of a table (errors too, on stderr)');
}

export type CommonOpts = { url: string; user: string; password?: string; ca?: string; servername?: string; json?: boolean };

export function apiFor(opts: CommonOpts): ApiClient {
  return new ApiClient({ url: opts.url, user: opts.user, password: opts.password ?? process.env.SLM_ADMIN_PASSWORD, ca: opts.ca, servername: opts.servername });
}

/** The command group `name` (created on first use), so several features can add verbs to one noun. */
export function commandGroup(program: Command, name: string, description: string): Command {
  return program.commands.find((c) => c.name() === name) ?? program.command(name).description(description);
}

/** Prints rows as a table, or the raw value with --json. */
export function output(opts: CommonOpts, value: unknown, rows?: Record<string, unknown>[]): void {
  if (opts.json || !rows) {
    console.log(JSON.stringify(value, null, 2));
    return;
  }
  if (rows.length === 0) {
    console.log('(none)');
    return;
  }
  const columns = Object.keys(rows[0]);
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd();
  console.log(line(columns));
  for (const r of rows) console.log(line(columns.map((c) => String(r[c] ?? ''))));
}

/** `CODE: message` (with how long to wait when the server said so), or the JSON error body. */
export function formatError(err: unknown, json: boolean): string {
  const e = err instanceof ApiError ? err : new ApiError(0, 'ERROR', (err as Error)?.message ?? String(err));
  if (json) return JSON.stringify({ error: { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) } });
  const wait = e.details?.retryAfterSeconds;
  return `${e.code}: ${e.message}${typeof wait === 'number' ? ` (try again in ${humanSeconds(wait)})` : ''}`;
}

const humanSeconds = (s: number) => (s >= 120 ? `${Math.ceil(s / 60)} min` : `${s} s`);

/** Wraps an action so every error prints `CODE: message` (JSON under --json) on stderr and exits 1. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>) {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      const cmd = args[args.length - 1] as Partial<Command>;
      const json = Boolean(typeof cmd?.opts === 'function' && cmd.opts().json);
      console.error(formatError(err, json));
      process.exit(1);
    }
  };
}

/** `slm admin`: commands run on the node itself, opening the store directly (no server API). */
export const OFFLINE_ADMIN = ['admin', 'offline administration on the node (opens the store directly; stop the server first for the embedded store)'] as const;

/**
 * Progress of an operation that can take more than a couple of seconds: on a terminal, one
 * self-updating line on stderr with the elapsed time; nothing when stderr is piped or under --json.
 */
export function progress(opts: { json?: boolean }, label: string, stream: NodeJS.WriteStream = process.stderr) {
  const live = Boolean(stream.isTTY) && !opts.json;
  const started = Date.now();
  let detail = '';
  const draw = () => live && stream.write(`\r\x1b[K${label}${detail ? `: ${detail}` : ''} (${Math.round((Date.now() - started) / 1000)} s)`);
  const timer = live ? setInterval(draw, 1000) : undefined;
  timer?.unref();
  draw();
  return {
    /** Replaces the detail shown after the label (an attempt number, a count). */
    update(text: string) {
      detail = text;
      draw();
    },
    /** Clears the line; the caller prints the outcome. */
    done() {
      if (timer) clearInterval(timer);
      if (live) stream.write('\r\x1b[K');
    },
  };
}

/** Runs `work` with a progress line (see `progress`). */
export async function withProgress<T>(opts: { json?: boolean }, label: string, work: Promise<T>): Promise<T> {
  const line = progress(opts, label);
  try {
    return await work;
  } finally {
    line.done();
  }
}

/** Reads one line from the terminal without echoing it (or one line of piped stdin). */
export function readSecret(prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const tty = Boolean(process.stdin.isTTY);
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: tty });
    if (tty) {
      process.stderr.write(prompt);
      // Mute the echo: readline writes each typed character through this method.
      (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => {};
    }
    rl.once('line', (line) => {
      if (tty) process.stderr.write('\n');
      rl.close();
      resolve(line);
    });
    rl.once('close', () => reject(new Error('no password given (stdin closed)')));
  });
}
