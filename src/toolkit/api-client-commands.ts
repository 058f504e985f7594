import type { Command } from 'commander';
import { type CommonOpts, action, apiFor, output, withApiOptions } from '../cli/command-kit';
import { accountPath } from '../accounts/account-commands';

type ApiClient = { clientId: string; name: string; accountName: string; createdAt: string; clientSecret?: string };

/** `slm client create|list`: API Toolkit clients. */
export function registerApiClientCommands(program: Command): void {
  const client = program.command('client').description('API Toolkit clients (OAuth client credentials)');

  withApiOptions(client.command('create <account> <name>').description('create an API client; its secret is printed once'))
    .action(action(async (account: string, name: string, opts: CommonOpts) => {
      const created = await apiFor(opts).call<Required<ApiClient>>('POST', `${accountPath(account)}/api-clients`, { name });
      output(opts, created, [{ clientId: created.clientId, clientSecret: created.clientSecret, name: created.name, account: created.accountName }]);
      if (!opts.json) console.log('\nStore the secret now: it cannot be shown again.');
    }));

  withApiOptions(client.command('list <account>').description('list the API clients of an account (no secrets)'))
    .action(action(async (account: string, opts: CommonOpts) => {
      const res = await apiFor(opts).call<{ apiClients: ApiClient[] }>('GET', `${accountPath(account)}/api-clients`);
      output(opts, res, res.apiClients.map((c) => ({ clientId: c.clientId, name: c.name, createdAt: c.createdAt })));
    }));
}
