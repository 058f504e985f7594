import { conflict } from '../errors';
import { peerOf, type HaFiles } from './cluster-config';
import type { PgAutoctl } from './engine';
import { MonitorClient, PgLink } from './monitor';
import { replayState, replicationToStandbys } from './replication';
import { serverSummary } from './status-summary';

export const NOT_ENABLED = 'HA is not enabled.';

/** The reference `ha_status` layout. */
export async function haStatusText(files: HaFiles, engine: PgAutoctl): Promise<string> {
  const config = files.readCluster();
  if (!config) return NOT_ENABLED;
  const keeper = engine.servicePid(config.pg.pgdata);
  if (config.services === 'stopped' || !keeper) throw conflict('HA_NOT_RUNNING', 'cluster is not currently running on this node');
  const summary = await serverSummary(config, Buffer.from(files.requireKeys().clusterKey, 'base64'));
  const monitor = new MonitorClient(config.monitor.uri);
  const local = new PgLink(`postgresql://postgres@${config.pg.host}:${config.pg.port}/${config.pg.database}`);
  try {
    const nodes = await monitor.nodes().catch(() => undefined);
    const mon = new URL(config.monitor.uri);
    const lines = [...summary, '', 'Daemon Status:', `keeper: active`, `monitor: ${nodes ? 'reachable' : 'unreachable'} (${mon.hostname}:${mon.port})`, '', '=====', 'Database Replication Status:', '====='];
    const replay = await replayState(local).catch(() => undefined);
    if (!replay) return [...lines, 'Error: the local database is not answering'].join('\n');
    const peerName = peerOf(config).name;
    const peerNode = nodes?.find((n) => n.name === peerName);
    const peerAddr = peerNode?.host ?? peerOf(config).clusterAddress;
    const standbys = replay.inRecovery ? [] : await replicationToStandbys(local).catch(() => []);
    lines.push(replay.inRecovery
      ? `Database is currently the replication slave - Replicating from ${peerName} (${peerAddr})`
      : standbys.length
        ? `Database is currently the replication master - Replicating to ${peerName} (${peerAddr})`
        : `Database is currently the replication master - No standby is connected`);
    lines.push('', 'Replication to slave:', 'client_addr | backend_start | state | write_lag | flush_lag | replay_lag', '-----');
    for (const s of standbys) lines.push([s.clientAddr ?? '', s.backendStart, s.state, s.writeLagSeconds, s.flushLagSeconds, s.replayLagSeconds].join(' | '));
    lines.push(rowCount(standbys.length), '', 'Replication from master:', 'pg_last_wal_replay_lsn', '-----');
    if (replay.replayLsn) lines.push(replay.replayLsn);
    lines.push(rowCount(1));
    return lines.join('\n');
  } finally {
    await monitor.close();
    await local.close();
  }
}

const rowCount = (n: number) => `(${n} row${n === 1 ? '' : 's'})`;
