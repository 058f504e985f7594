import path from 'node:path';
import { badRequest, conflict } from '../errors';
import { peerOf, type ClusterConfig, type HaFiles } from './cluster-config';
import { ACTIVE_GOAL_STATES } from './cluster-state';
import { postmasterPid, type PgAutoctl } from './engine';
import { MonitorClient } from './monitor';
import type { SyncPause } from './sync-pause';
import { removeAddress } from './vip';

export type TeardownDeps = { config: ClusterConfig; files: HaFiles; engine: PgAutoctl; syncPause: SyncPause; say: (line: string) => void; now: Date };

/** Leaves the cluster for good: this node becomes a stand-alone server that keeps its data. */
export async function teardownNode(d: TeardownDeps, confirm: () => Promise<string>): Promise<void> {
  const config = d.config;
  for (const line of await teardownNotice(config)) d.say(line);
  if ((await confirm()).trim() !== 'yes') throw badRequest('HA_TEARDOWN_CANCELLED', 'teardown cancelled: type yes to confirm');
  const pgdata = config.pg.pgdata;
  // The keeper is what leaves the monitor cleanly, so it must run for the drop.
  await d.engine.startService(pgdata);
  d.say('Leaving the cluster...');
  await d.engine.autoctl(['drop', 'node', '--pgdata', pgdata, '--wait', '60'], 90_000).catch(async (err) => {
    d.say(`The monitor did not confirm the drop (${(err as Error).message.split('\n')[0]}); forcing it.`);
    await d.engine.autoctl(['drop', 'node', '--monitor', config.monitor.uri, '--name', config.localNode, '--force'], 30_000).catch(() => undefined);
  });
  await d.engine.stopService(pgdata);
  if (!postmasterPid(pgdata)) {
    await d.engine.pgCtl(['start', '-w', '-t', '60', '-D', pgdata, '-o', `-p ${config.pg.port} -h ${config.pg.host}`, '-l', path.join(d.files.engineRoot, 'logs', 'standalone.log')]);
  }
  const url = `postgresql://postgres@${config.pg.host}:${config.pg.port}/postgres`;
  if ((await d.engine.psql(url, 'SELECT pg_is_in_recovery()')).trim() === 't') {
    d.say('Promoting the standby database...');
    await d.engine.pgCtl(['promote', '-w', '-D', pgdata]);
  }
  // With no standby left, a synchronous commit would wait forever.
  await d.engine.psql(url, "ALTER SYSTEM SET synchronous_standby_names = ''");
  await d.engine.psql(url, 'SELECT pg_reload_conf()');
  if (config.vip.driver === 'iproute2') await removeAddress(config.vip.address, config.vip.prefixLength ?? 32, config.vip.interface ?? 'eth0');
  if (config.monitor.localPgdata) {
    const monitor = new MonitorClient(config.monitor.uri);
    const remaining = await monitor.nodes().catch(() => []);
    await monitor.close();
    if (remaining.length === 0) {
      await d.engine.stopService(config.monitor.localPgdata);
      d.say('The monitor on this host had no node left and was stopped.');
    } else {
      d.say(`The monitor on this host keeps running for ${remaining.map((n) => n.name).join(', ')}: run ha_teardown there first, then again here is not needed.`);
    }
  }
  d.syncPause.pause(`HA teardown of ${config.localNode} at ${d.now.toISOString()}: ${peerOf(config).name} holds a copy of the same accounts`, d.now);
  d.files.retireCluster(String(d.now.getTime()));
  d.say('HA is now disabled on this node; it keeps its data as a stand-alone server.');
  d.say('Synchronization is paused on this node. Next, on the node you keep: slm ha keep-this-node, set the Host Common Name');
  d.say(`to its own address (slm hcn set <address> --url https://<address>:${config.serverPort}), synchronize, and re-register products to it.`);
}

/** After a teardown: confirms this node as the copy to keep, so it synchronizes with the vendor again. */
export async function keepThisNode(d: Pick<TeardownDeps, 'files' | 'syncPause' | 'say'>, confirm: () => Promise<string>): Promise<void> {
  if (d.files.readCluster()) throw conflict('HA_ALREADY_DEPLOYED', 'this node is in a cluster: only the Active node synchronizes; nothing to confirm');
  const state = d.syncPause.state();
  if (!state) {
    d.say('Synchronization is not paused on this node.');
    return;
  }
  d.say(`Synchronization is paused: ${state.reason}.`);
  d.say('Confirm this node as the copy to keep: it resumes synchronizing with the vendor. Leave the other copy paused');
  d.say('(do not run this command there too), or the vendor receives the same usage twice.');
  if ((await confirm()).trim() !== 'yes') throw badRequest('HA_CONFIRMATION_CANCELLED', 'cancelled: type yes to confirm');
  d.syncPause.resume();
  d.say('Confirmed: the running server resumes synchronization within seconds.');
}

/** What teardown does on this node, told from what the monitor says this node is now. */
async function teardownNotice(config: ClusterConfig): Promise<string[]> {
  const monitor = new MonitorClient(config.monitor.uri);
  const nodes = await monitor.nodes().catch(() => undefined);
  await monitor.close();
  const me = nodes?.find((n) => n.name === config.localNode);
  const peer = peerOf(config).name;
  const common = ['Its cluster services are disabled; the other node is not changed. Synchronization stays paused on this node until',
    'you confirm it is the copy to keep (slm ha keep-this-node), so the two copies never report the same usage twice.'];
  if (!me) return [`This removes ${config.localNode} from the cluster (the monitor does not know its state): it becomes a stand-alone server with its current data.`, ...common];
  if (ACTIVE_GOAL_STATES.has(me.goalState)) {
    return [`This node (${config.localNode}) is the Active node. Teardown removes it from the cluster: the monitor promotes ${peer} if it is a healthy`,
      'standby, and that node takes the VIP; this node releases the VIP and becomes a stand-alone server with its current data.', ...common];
  }
  return [`This node (${config.localNode}) is the Standby. Teardown stops its replication and promotes its database to a stand-alone copy`,
    `with the data replicated so far; ${peer} stays Active and keeps the VIP.`, ...common];
}
