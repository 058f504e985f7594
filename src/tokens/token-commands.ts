import { type Command, InvalidArgumentError } from 'commander';
import { type CommonOpts, action, apiFor, output, withApiOptions } from '../cli/command-kit';
import { accountPath } from '../accounts/account-commands';

type Token = { id: string; description: string; status: string; uses: number; maxUses: number; expiresAt: string; exportControlled: boolean; token: string };
type VaOpts = CommonOpts & { virtualAccount: string };

const tokensPath = (account: string, virtualAccount: string) => `${accountPath(account)}/virtual-accounts/${encodeURIComponent(virtualAccount)}/tokens`;
const row = (t: Token) => ({ id: t.id, description: t.description, status: t.status, uses: `${t.uses}/${t.maxUses}`, expiresAt: t.expiresAt, exportControlled: t.exportControlled });

export function positiveInteger(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('must be a positive integer');
  return Number(value);
}

/** `slm token create|list|revoke`: Product Instance Registration Tokens. */
export function registerTokenCommands(program: Command): void {
  const token = program.command('token').description('product instance registration tokens');

  withApiOptions(token.command('create <account>').description('create a registration token and print it'))
    .option('--virtual-account <name>', 'virtual account', 'Default')
    .requiredOption('--description <text>', 'what the token is for')
    .option('--expires-days <days>', 'days until it expires (1-365)', positiveInteger, 30)
    .option('--max-uses <n>', 'how many product instances may register with it', positiveInteger, 1)
    .option('--export-controlled', 'allow export-controlled functionality', false)
    .action(action(async (account: string, opts: VaOpts & { description: string; expiresDays: number; maxUses: number; exportControlled: boolean }) => {
      const created = await apiFor(opts).call<Token>('POST', tokensPath(account, opts.virtualAccount), {
        description: opts.description, expiresInDays: opts.expiresDays, maxUses: opts.maxUses, exportControlled: opts.exportControlled,
      });
      output(opts, created, [row(created)]);
      // The token on a line of its own, so it can be copied into a product as it is.
      if (!opts.json) console.log(`\n${created.token}`);
    }));

  withApiOptions(token.command('list <account>').description('list the tokens of a virtual account (--json includes the token strings)'))
    .option('--virtual-account <name>', 'virtual account', 'Default')
    .action(action(async (account: string, opts: VaOpts) => {
      const res = await apiFor(opts).call<{ tokens: Token[] }>('GET', tokensPath(account, opts.virtualAccount));
      output(opts, res, res.tokens.map(row));
    }));

  withApiOptions(token.command('revoke <tokenId>').description('revoke a token; instances already registered with it stay registered'))
    .action(action(async (tokenId: string, opts: CommonOpts) => {
      const revoked = await apiFor(opts).call<Token>('POST', `/api/v1/tokens/${encodeURIComponent(tokenId)}/revoke`);
      output(opts, revoked, [row(revoked)]);
    }));
}
