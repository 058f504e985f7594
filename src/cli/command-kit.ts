import type { Command } from 'commander';
import { ApiClient, ApiError } from './api-client';

/** Options every admin command shares: where the server is and who logs in. */
export function withApiOptions(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'server base URL', process.env.SLM_URL ?? 'https://127.0.0.1:8443')
    .option('--user <name>', 'admin user', process.env.SLM_ADMIN_USER ?? 'admin')
    .option('--password <password>', 'admin password (default: $SLM_ADMIN_PASSWORD)')
    .option('--ca <file>', 'CA certificate to trust (default: certs/ca.pem)')
    .option('--servername <name>', 'name the server certificate must carry when the URL host differs (a node reached by its own address)')
    .option('--json', 'print JSON instead of a table');
}

export type CommonOpts = { url: string; user: string; password?: string; ca?: string; servername?: string; json?: boolean };

export function apiFor(opts: CommonOpts): ApiClient {
  return new ApiClient({ url: opts.url, user: opts.user, password: opts.password ?? process.env.SLM_ADMIN_PASSWORD, ca: opts.ca, servername: opts.servername });
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

/** Wraps an action so API errors print `CODE: message` and exit 1. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>) {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      if (err instanceof ApiError) {
        console.error(`${err.code}: ${err.message}`);
        process.exit(1);
      }
      throw err;
    }
  };
}
