import { setTimeout as sleep } from 'node:timers/promises';
import { conflict } from '../errors';
import type { ClusterConfig, HaFiles } from './cluster-config';
import { ACTIVE_GOAL_STATES, switchoverReady } from './cluster-state';
import type { PgAutoctl } from './engine';
import { MonitorClient } from './monitor';
import { waitMonitor, waitNode } from './monitor-wait';

/** `ha_cluster_stop` and `ha_cluster_start` on one node: what they need from the node. */
export type ServiceDeps = { config: ClusterConfig; files: HaFiles; engine: PgAutoctl; say: (line: string) => void };

/** Stops this node's cluster services; an Active node with a healthy standby hands over first. */
export async function stopClusterServices(d: ServiceDeps): Promise<void> {
  const { config, engine, files, say } = d;
  if (config.services === 'stopped' && !engine.servicePid(config.pg.pgdata)) throw conflict('HA_ALREADY_STOPPED', 'the cluster services are already stopped on this node');
  const monitor = new MonitorClient(config.monitor.uri);
  try {
    let nodes = await monitor.nodes().catch(() => []);
    let me = nodes.find((n) => n.name === config.localNode);
    let peer = nodes.find((n) => n.name !== config.localNode);
    // A standby that just rejoined: wait (briefly) for the monitor to settle both nodes first.
    for (const deadline = Date.now() + 15_000; me && peer?.healthy && ACTIVE_GOAL_STATES.has(me.goalState) && !switchoverReady(me, peer) && Date.now() < deadline;) {
      await sleep(300);
      nodes = await monitor.nodes().catch(() => nodes);
      me = nodes.find((n) => n.name === config.localNode);
      peer = nodes.find((n) => n.name !== config.localNode);
    }
    if (me && ACTIVE_GOAL_STATES.has(me.goalState)) {
      if (switchoverReady(me, peer)) {
        say(`Handing over to ${peer!.name} (planned switchover)...`);
        const t0 = Date.now();
        await engine.switchover(config.pg.pgdata);
        say(`Switchover done in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${peer!.name} is the primary.`);
      } else {
        say('Warning: no healthy standby to hand over to; the cluster is unavailable until a node starts again.');
      }
    }
    await leaveSynchronousReplication(d, monitor);
  } finally {
    await monitor.close();
  }
  files.writeCluster({ ...config, services: 'stopped' });
  await engine.stopService(config.pg.pgdata);
  say('Cluster services stopped on this node.');
}

/**
 * A secondary is the primary's synchronous standby: stopping it outright would hold every commit
 * on the primary until the monitor declares it unhealthy and drops synchronous replication
 * (measured 2.4-2.8 s of stalled writes right after a switchover). Maintenance makes the monitor
 * move the primary to wait_primary first, while this node still streams, so writes never wait.
 */
async function leaveSynchronousReplication(d: ServiceDeps, monitor: MonitorClient): Promise<void> {
  const { config, engine, say } = d;
  const nodes = await monitor.nodes().catch(() => []);
  const me = nodes.find((n) => n.name === config.localNode);
  const peer = nodes.find((n) => n.name !== config.localNode);
  if (!me || me.goalState !== 'secondary' || !peer || peer.goalState !== 'primary') return;
  await engine.autoctl(['enable', 'maintenance', '--pgdata', config.pg.pgdata], 60_000).then(
    () => say(`${peer.name} no longer waits for this node's replication.`),
    (err) => say(`Warning: could not put this node in maintenance first (${(err as Error).message.split('\n')[0]}); writes on ${peer.name} wait until the monitor notices this node is gone.`),
  );
}

/** Starts this node's cluster services; a former primary comes back as standby (pg_rewind if needed). */
export async function startClusterServices(d: ServiceDeps): Promise<void> {
  const { config, engine, files, say } = d;
  if (config.services === 'running' && engine.servicePid(config.pg.pgdata)) throw conflict('HA_ALREADY_RUNNING', 'the cluster services are already running on this node');
  if (config.monitor.localPgdata) await engine.startService(config.monitor.localPgdata);
  await waitMonitor(config.monitor.uri);
  const t0 = Date.now();
  await engine.startService(config.pg.pgdata);
  files.writeCluster({ ...config, services: 'running' });
  const monitor = new MonitorClient(config.monitor.uri);
  try {
    // Stopped by ha_cluster_stop in maintenance (see leaveSynchronousReplication): rejoin as a standby.
    const me = (await monitor.nodes()).find((n) => n.name === config.localNode);
    if (me && ['maintenance', 'wait_maintenance', 'prepare_maintenance'].includes(me.goalState)) {
      await whileKeeperWritesConfig(() => engine.autoctl(['disable', 'maintenance', '--pgdata', config.pg.pgdata], 120_000));
    }
  } finally {
    await monitor.close();
  }
  const node = await waitNode(config.monitor.uri, config.localNode,
    (n) => n.reportedState === n.goalState && ['primary', 'secondary', 'single', 'wait_primary'].includes(n.goalState) && n.healthy, 120_000, `${files.engineRoot}/logs`);
  say(`Cluster services started in ${((Date.now() - t0) / 1000).toFixed(1)} s: this node is ${node.reportedState === 'secondary' ? 'Standby' : 'Active'} (${node.reportedState}).`);
}

/**
 * The keeper rewrites its configuration file as it starts, and a pg_autoctl command that reads it
 * in the middle fails ("Failed to parse configuration file", seen once in 20 starts): try again.
 */
async function whileKeeperWritesConfig<T>(command: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await command();
    } catch (err) {
      if (attempt >= 5 || !/configuration file/.test((err as Error).message)) throw err;
      await sleep(500);
    }
  }
}
