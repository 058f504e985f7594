import type { Command } from 'commander';
import { type CommonOpts, action, apiFor, output, withApiOptions } from '../cli/command-kit';

type Account = { name: string; status: string; smartAccount: string | null; createdAt: string; approvedAt: string | null };

export const accountPath = (name: string) => `/api/v1/accounts/${encodeURIComponent(name)}`;
const row = (a: Account) => ({ name: a.name, status: a.status, smartAccount: a.smartAccount ?? '', createdAt: a.createdAt, approvedAt: a.approvedAt ?? '' });

/** `slm account create|approve|deactivate|list`. */
export function registerAccountCommands(program: Command): void {
  const account = program.command('account').description('local accounts');

  withApiOptions(account.command('create <name>').description('request a local account (starts REQUESTED, with a Default virtual account)'))
    .option('--description <text>', 'free text')
    .option('--contact-email <email>', 'who to contact about the account')
    .action(action(async (name: string, opts: CommonOpts & { description?: string; contactEmail?: string }) => {
      const created = await apiFor(opts).call<Account>('POST', '/api/v1/accounts', { name, description: opts.description, contactEmail: opts.contactEmail });
      output(opts, created, [row(created)]);
    }));

  withApiOptions(account.command('approve <name>').description('approve a requested account, or reactivate an inactive one'))
    .option('--smart-account <name>', 'the Smart Account of the vendor cloud it is linked to')
    .action(action(async (name: string, opts: CommonOpts & { smartAccount?: string }) => {
      const approved = await apiFor(opts).call<Account>('POST', `${accountPath(name)}/approve`, { smartAccount: opts.smartAccount });
      output(opts, approved, [row(approved)]);
    }));

  withApiOptions(account.command('deactivate <name>').description('deactivate an account (or reject a request)'))
    .action(action(async (name: string, opts: CommonOpts) => {
      const deactivated = await apiFor(opts).call<Account>('POST', `${accountPath(name)}/deactivate`);
      output(opts, deactivated, [row(deactivated)]);
    }));

  withApiOptions(account.command('list').description('list local accounts'))
    .action(action(async (opts: CommonOpts) => {
      const res = await apiFor(opts).call<{ accounts: Account[] }>('GET', '/api/v1/accounts');
      output(opts, res, res.accounts.map(row));
    }));
}
