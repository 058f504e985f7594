import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { action, apiFor, output, withApiOptions, withProgress, type CommonOpts } from '../cli/command-kit';
import { ApiError } from '../cli/api-client';
import type { EntitlementFault } from './entitlement-file';
import { faultLines } from './json-lines';

const INVALID_FILE = 'INVALID_ENTITLEMENT_FILE';

/** A file that is not JSON at all is refused here, at the line where parsing stopped. */
function parseLocally(fileName: string, text: string): void {
  try {
    JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    const position = /at position (\d+)/.exec(message);
    const line = position ? text.slice(0, Number(position[1])).split('\n').length : undefined;
    throw new ApiError(400, INVALID_FILE, `${fileName}${line ? `:${line}` : ''}: not valid JSON (${message}); nothing was imported`);
  }
}

export function registerLicenseCommands(program: Command): void {
  const licenses = program.command('licenses').description('purchased licenses: balances and entitlement import');

  withApiOptions(
    licenses
      .command('import')
      .description('import an entitlement file {"licenses": [...]} (closed networks); a faulty file is refused whole')
      .argument('<file>', 'entitlement file (JSON)'),
  ).action(
    action(async (file: string, opts: CommonOpts) => {
      const text = readFileSync(file, 'utf8');
      parseLocally(file, text);
      try {
        const result = await withProgress(opts, `Importing ${file}`,
          apiFor(opts).call<{ imported: number; virtualAccounts: Record<string, unknown>[] }>('POST', '/api/v1/licenses/import', text));
        output(opts, result, result.virtualAccounts);
      } catch (err) {
        const faults = err instanceof ApiError && err.code === INVALID_FILE ? (err.details?.faults as EntitlementFault[] | undefined) : undefined;
        if (!faults) throw err;
        const refused = err as ApiError;
        throw new ApiError(refused.status, refused.code, [refused.message, ...faultLines(file, text, faults)].join('\n  '));
      }
    }),
  );

  withApiOptions(
    licenses
      .command('list')
      .description('license balances of an account')
      .argument('<account>', 'local account name')
      .option('--virtual-account <name>', 'only this virtual account'),
  ).action(
    action(async (account: string, opts: CommonOpts & { virtualAccount?: string }) => {
      const query = opts.virtualAccount ? `?virtualAccount=${encodeURIComponent(opts.virtualAccount)}` : '';
      const result = await apiFor(opts).call<{ licenses: Record<string, unknown>[] }>('GET', `/api/v1/accounts/${encodeURIComponent(account)}/licenses${query}`);
      output(opts, result, result.licenses.map((l) => ({
        virtualAccount: l.virtualAccount, license: l.license, quantity: l.quantity, inUse: l.inUse,
        substitution: l.substitution, balance: l.balance, status: l.status,
      })));
    }),
  );
}
