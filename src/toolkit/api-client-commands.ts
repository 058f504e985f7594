import { Command, Option } from 'commander';
import { type CommonOpts, action, apiFor, output, withApiOptions } from '../cli/command-kit';
import { accountPath } from '../accounts/account-commands';

type ApiClient = { clientId: string; name: string; accountName: string; permission: string; createdAt: string; clientSecret?: string };

const SECRET_NOTE = '\nStore the secret now: it cannot be shown again.';

/** `slm client create|list|delete|rotate`: API Toolkit clients. */
export function registerApiClientCommands(program: Command): void {
  const client = program.command('client').description('API Toolkit clients (OAuth client credentials)');
  const clientPath = (account: string, clientId: string) => `${accountPath(account)}/api-clients/${encodeURIComponent(clientId)}`;

  withApiOptions(client.command('create <account> <name>').description('create an API client; its secret is printed once'))
    .addOption(new Option('--permission <permission>', 'read: licenses, alerts, devices, token metadata; manage: also token strings, tokens and virtual accounts')
      .choices(['read', 'manage']).default('read'))
    .action(action(async (account: string, name: string, opts: CommonOpts & { permission: string }) => {
      const created = await apiFor(opts).call<Required<ApiClient>>('POST', `${accountPath(account)}/api-clients`, { name, permission: opts.permission });
      output(opts, created, [{ clientId: created.clientId, clientSecret: created.clientSecret, name: created.name, account: created.accountName, permission: created.permission }]);
      if (!opts.json) console.log(SECRET_NOTE);
    }));

  withApiOptions(client.command('list <account>').description('list the API clients of an account (no secrets)'))
    .action(action(async (account: string, opts: CommonOpts) => {
      const res = await apiFor(opts).call<{ apiClients: ApiClient[] }>('GET', `${accountPath(account)}/api-clients`);
      output(opts, res, res.apiClients.map((c) => ({ clientId: c.clientId, name: c.name, permission: c.permission, createdAt: c.createdAt })));
    }));

  withApiOptions(client.command('delete <account> <clientId>').description('delete an API client; its access tokens stop working at once'))
    .action(action(async (account: string, clientId: string, opts: CommonOpts) => {
      await apiFor(opts).call('DELETE', clientPath(account, clientId));
      output(opts, { deleted: clientId }, [{ deleted: clientId }]);
    }));

  withApiOptions(client.command('rotate <account> <clientId>').description('give an API client a new secret; the old secret and its access tokens stop working'))
    .action(action(async (account: string, clientId: string, opts: CommonOpts) => {
      const rotated = await apiFor(opts).call<{ clientId: string; clientSecret: string }>('POST', `${clientPath(account, clientId)}/rotate-secret`);
      output(opts, rotated, [rotated]);
      if (!opts.json) console.log(SECRET_NOTE);
    }));
}
