import type { Command } from 'commander';
import { type CommonOpts, action, apiFor, output, withApiOptions } from '../cli/command-kit';

type Event = { at: string; actor: string; action: string; objectType: string; objectId: string | null; outcome: string };

/** `slm events`: the event log (audit trail), newest first. */
export function registerEventCommands(program: Command): void {
  withApiOptions(program.command('events').description('the event log, newest first (filters combine)'))
    .option('--action <action>', 'exact action (user.create) or a prefix ending in a dot (user.)')
    .option('--actor <name>', 'who did it: a username, an API client id, system, or a product instance id')
    .option('--object <id>', 'what it was done to: an account name, a username, a product instance id, ...')
    .option('--page <n>', 'page', '1')
    .option('--page-size <n>', 'events a page (1-500)', '20')
    .action(action(async (opts: CommonOpts & { action?: string; actor?: string; object?: string; page: string; pageSize: string }) => {
      const query = new URLSearchParams({ page: opts.page, pageSize: opts.pageSize });
      for (const key of ['action', 'actor', 'object'] as const) if (opts[key]) query.set(key, opts[key]!);
      const res = await apiFor(opts).call<{ total: number; events: Event[] }>('GET', `/api/v1/events?${query}`);
      output(opts, res, res.events.map((e) => ({ at: e.at, actor: e.actor, action: e.action, object: `${e.objectType}:${e.objectId ?? ''}`, outcome: e.outcome })));
      if (!opts.json && res.total > res.events.length) console.log(`(${res.total} in all; --page for more)`);
    }));
}
