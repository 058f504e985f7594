import { existsSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { conflict } from '../errors';
import { PG_AUTOCTL, PG_BIN, postmasterPid, type PgAutoctl } from './engine';
import { MonitorClient } from './monitor';

/** Something an earlier deploy, provisioning or teardown left behind, the command that removes it, and the removal. */
export type Leftover = { what: string; command: string; clean: () => Promise<void> };

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * What blocks (re-)registering this node: the engine's files for this PGDATA from an earlier run
 * (pg_autoctl would resume that old node), a node of the same name still registered on the
 * monitor, and, when the data directory must be a new clone, the old one and its running
 * PostgreSQL. Moved aside, never deleted: a mistaken clean loses nothing.
 */
export async function findLeftovers(o: {
  engine: PgAutoctl;
  pgdata: string;
  nodeName: string;
  monitorUri: string;
  /** Provisioning clones into the directory: an old data directory there is in the way. */
  newPgdata: boolean;
  stamp: string;
}): Promise<Leftover[]> {
  const found: Leftover[] = [];
  const aside = path.join(o.engine.root, `stale-${o.stamp}`);
  const moveAside = async (dir: string, kind: string) => {
    mkdirSync(aside, { recursive: true, mode: 0o700 });
    renameSync(dir, path.join(aside, kind));
  };
  if (o.newPgdata && existsSync(o.pgdata) && readdirSync(o.pgdata).length > 0) {
    const target = `${o.pgdata}.before-ha-${o.stamp}`;
    const running = postmasterPid(o.pgdata) !== undefined;
    found.push({
      what: `${o.pgdata} holds a database${running ? ' and its PostgreSQL is running (a stand-alone copy after teardown, or a half-made clone)' : ''}`,
      command: `${running ? `runuser -u postgres -- ${PG_BIN}/pg_ctl stop -D ${q(o.pgdata)} -m fast && ` : ''}mv ${q(o.pgdata)} ${q(target)}`,
      clean: async () => {
        if (postmasterPid(o.pgdata)) await o.engine.pgCtl(['stop', '-D', o.pgdata, '-m', 'fast', '-w']);
        renameSync(o.pgdata, target);
      },
    });
  }
  const monitor = new MonitorClient(o.monitorUri);
  const registered = await monitor.nodes().then((nodes) => nodes.some((n) => n.name === o.nodeName), () => false);
  await monitor.close();
  if (registered) {
    found.push({
      what: `the monitor still has a node named ${o.nodeName}`,
      command: `${PG_AUTOCTL} drop node --monitor ${q(o.monitorUri)} --name ${o.nodeName} --force`,
      clean: async () => {
        await o.engine.autoctl(['drop', 'node', '--monitor', o.monitorUri, '--name', o.nodeName, '--force'], 60_000);
      },
    });
  }
  for (const kind of ['config', 'data']) {
    const dir = path.join(o.engine.root, kind, `pg_autoctl${o.pgdata}`);
    if (!existsSync(dir)) continue;
    found.push({ what: `engine files of an earlier run in ${dir}`, command: `mkdir -p ${q(aside)} && mv ${q(dir)} ${q(path.join(aside, kind))}`, clean: () => moveAside(dir, kind) });
  }
  return found;
}

/** Cleans the leftovers when told to (--clean), else stops with the exact commands to run. */
export async function handleLeftovers(found: Leftover[], clean: boolean, say: (line: string) => void, retry: string): Promise<void> {
  if (found.length === 0) return;
  if (!clean) {
    throw conflict('HA_LEFTOVERS_FOUND', [
      'an earlier attempt or a teardown left:', ...found.map((l) => `  - ${l.what}`),
      'Remove them (as root) with:', ...found.map((l) => `  ${l.command}`),
      `or run again with --clean to have them moved aside: ${retry} --clean`,
    ].join('\n'));
  }
  for (const l of found) {
    say(`Cleaning: ${l.what}`);
    await l.clean();
  }
}
