import type { Command } from 'commander';
import { type CommonOpts, action, apiFor, output, withApiOptions } from '../cli/command-kit';

type Alert = { type: string; severity: string; message: string; virtualAccount: string | null; source: string };

/** `slm alerts <account>`: license, product-instance and synchronization alerts, Major first. */
export function registerAlertCommands(program: Command): void {
  withApiOptions(program.command('alerts <account>').description('alerts of an account (licenses, product instances, synchronization), Major first'))
    .option('--virtual-account <name>', 'only this virtual account')
    .action(action(async (account: string, opts: CommonOpts & { virtualAccount?: string }) => {
      const query = opts.virtualAccount ? `?${new URLSearchParams({ virtualAccount: opts.virtualAccount })}` : '';
      const res = await apiFor(opts).call<{ alerts: Alert[] }>('GET', `/api/v1/accounts/${encodeURIComponent(account)}/alerts${query}`);
      output(opts, res, res.alerts.map((a) => ({ severity: a.severity, type: a.type, virtualAccount: a.virtualAccount ?? '(server)', source: a.source, message: a.message })));
    }));
}
