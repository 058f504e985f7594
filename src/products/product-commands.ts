import type { Command } from 'commander';
import { type CommonOpts, action, apiFor, commandGroup, output, withApiOptions } from '../cli/command-kit';

type Instance = {
  id: string; name: string; productType: string; udi: { pid: string; sn: string }; status: string;
  lastContactAt: string; certificateExpires: string; alerts: { messageType: string }[];
};
type Detail = Instance & { account: string; virtualAccount: string; registeredAt: string; usage: { tag: string; count: number }[] };

const row = (p: Instance) => ({
  id: p.id, name: p.name, type: p.productType, udi: `${p.udi.pid}/${p.udi.sn}`, status: p.status,
  lastContact: p.lastContactAt, alerts: p.alerts.map((a) => a.messageType).join(', '),
});
const instancePath = (id: string) => `/api/v1/product-instances/${encodeURIComponent(id)}`;

/** `slm product list|show|remove`: product instances as the server knows them (admin API). */
export function registerProductAdminCommands(program: Command): void {
  const product = commandGroup(program, 'product', 'product instances');

  withApiOptions(product.command('list <account>').description('product instances of a virtual account'))
    .option('--virtual-account <name>', 'virtual account', 'Default')
    .option('--search <text>', 'name, PID or serial number contains')
    .option('--status <status>', 'REGISTERED or DEREGISTERED')
    .option('--page <n>', 'page (50 a page)', '1')
    .action(action(async (account: string, opts: CommonOpts & { virtualAccount: string; search?: string; status?: string; page: string }) => {
      const query = new URLSearchParams({ page: opts.page, ...(opts.search ? { search: opts.search } : {}), ...(opts.status ? { status: opts.status } : {}) });
      const res = await apiFor(opts).call<{ total: number; productInstances: Instance[] }>(
        'GET', `/api/v1/accounts/${encodeURIComponent(account)}/virtual-accounts/${encodeURIComponent(opts.virtualAccount)}/product-instances?${query}`);
      output(opts, res, res.productInstances.map(row));
      if (!opts.json && res.total > res.productInstances.length) console.log(`(${res.total} in all; --page for more)`);
    }));

  withApiOptions(product.command('show <id>').description('one product instance: identity, certificate, usage, alerts'))
    .action(action(async (id: string, opts: CommonOpts) => {
      const p = await apiFor(opts).call<Detail>('GET', instancePath(id));
      output(opts, p, [{ ...row(p), account: p.account, virtualAccount: p.virtualAccount, registeredAt: p.registeredAt, certificateExpires: p.certificateExpires }]);
      if (!opts.json && p.usage.length) output(opts, p.usage, p.usage.map((u) => ({ tag: u.tag, inUse: u.count })));
    }));

  withApiOptions(product.command('remove <id>').description('deregister an instance on its behalf, releasing its licenses (admin)'))
    .action(action(async (id: string, opts: CommonOpts) => {
      await apiFor(opts).call('DELETE', instancePath(id));
      output(opts, { removed: id }, [{ removed: id }]);
    }));
}
