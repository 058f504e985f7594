import type { ClusterConfig } from './cluster-config';
import { ACTIVE_GOAL_STATES, clusterHealth } from './cluster-state';
import type { PeerLink } from './heartbeat';
import type { HaNodeView, HaStatus } from './ha-view';
import type { MonitorClient, MonitorNode, PgLink } from './monitor';
import { replayState, replicationToStandbys } from './replication';
import type { SystemInfo } from './system-info';

/** What a cluster node knows when asked for its status (see ClusterNode.status). */
export type StatusSources = {
  config: ClusterConfig;
  active: boolean;
  /** The monitor's last answer, and when it was asked for. */
  nodes: MonitorNode[];
  monitorAt?: number;
  /** Within this long of the last answer the monitor counts as reachable. */
  monitorReachableMs: number;
  peer: PeerLink;
  vipHeld: boolean;
  local: PgLink;
  monitor: MonitorClient;
  systemInfo: SystemInfo;
};

/** The widget's facts for a node in a cluster: roles, heartbeat, Normal/Degraded, replication, recent monitor events. */
export async function clusterStatus(s: StatusSources): Promise<HaStatus> {
  const { config, active } = s;
  const now = Date.now();
  const [standbys, replay, events] = await Promise.all([
    active ? replicationToStandbys(s.local).catch(() => []) : Promise.resolve([]),
    replayState(s.local).catch(() => undefined),
    s.monitor.events(10).catch(() => []),
  ]);
  const streaming = active ? standbys.some((x) => x.state === 'streaming') : replay?.receiverStatus === 'streaming';
  const connected = s.peer.connected(now);
  const health = clusterHealth(s.nodes, connected, streaming);
  const views = config.nodes.map((n): HaNodeView => {
    const m = s.nodes.find((x) => x.name === n.name);
    const isLocal = n.name === config.localNode;
    const peerRole = connected ? s.peer.last?.role : m && ACTIVE_GOAL_STATES.has(m.goalState) && m.healthy ? 'active' : 'standby';
    const role = isLocal ? (active ? 'active' : 'standby') : peerRole;
    return {
      name: n.name,
      role: role === 'active' ? 'Active' : 'Standby',
      publicAddress: n.publicAddress,
      clusterAddress: n.clusterAddress,
      goalState: m?.goalState ?? null,
      reportedState: m?.reportedState ?? null,
      healthy: m ? m.healthy && m.pgIsRunning : null,
      system: isLocal ? s.systemInfo : (s.peer.last?.system ?? null),
    };
  });
  const activeView = views.find((v) => v.role === 'Active') ?? null;
  return {
    enabled: true,
    status: health.status,
    message: health.message,
    heartbeat: connected ? 'Connected' : 'Disconnected',
    lastHeartbeatAt: s.peer.lastReceivedAt ? new Date(s.peer.lastReceivedAt).toISOString() : null,
    vip: { address: config.vip.address, port: config.serverPort, driver: config.vip.driver, heldByThisNode: s.vipHeld },
    thisNode: config.localNode,
    thisNodeRole: active ? 'Active' : 'Standby',
    monitor: { reachable: s.monitorAt !== undefined && now - s.monitorAt < s.monitorReachableMs, lastContactAt: s.monitorAt ? new Date(s.monitorAt).toISOString() : null },
    activeServer: activeView,
    standbyServer: views.find((v) => v !== activeView) ?? null,
    replication: {
      streaming,
      standbys: standbys.map(({ backendStart: _b, ...x }) => x),
      replayLsn: replay?.replayLsn ?? null,
      receiverStatus: replay?.receiverStatus ?? null,
    },
    events: events.map((e) => ({ ...e, at: e.at.toISOString() })),
  };
}
