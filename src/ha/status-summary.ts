import type { ClusterConfig } from './cluster-config';
import type { HaStatus } from './ha-view';
import { localOf } from './cluster-config';
import { signedRequest } from './heartbeat';

/**
 * What the dashboard widget shows, for `ha_status`: asked from this node's own server over its
 * cluster endpoint (signed with the cluster key the CLI reads from the data directory), because
 * only the server knows its role, the heartbeat and the health it derives from them.
 */
export async function serverSummary(config: ClusterConfig, clusterKey: Buffer): Promise<string[]> {
  const me = localOf(config);
  let st: HaStatus;
  try {
    st = await signedRequest<HaStatus>(clusterKey, me.clusterAddress, config.heartbeatPort, 'GET', '/ha/status', undefined, 3000);
  } catch (err) {
    return [`Server: not answering on ${me.clusterAddress}:${config.heartbeatPort} (${(err as Error).message}); role and heartbeat unknown`];
  }
  if (!st.enabled) return ['Server: serving as a stand-alone server'];
  const peer = st.activeServer?.name === st.thisNode ? st.standbyServer : st.activeServer;
  const standbys = st.replication.standbys.map((s) => `${s.clientAddr ?? '?'} ${s.state}/${s.syncState}, replay lag ${s.replayLagSeconds} s`);
  return [
    `Cluster Status: ${st.status} - ${st.message}`,
    `This node: ${st.thisNode} (${st.thisNodeRole})${st.vip.heldByThisNode ? `, holds the VIP ${st.vip.address}` : ''}`,
    `Peer: ${peer ? `${peer.name} (${peer.role}) at ${peer.publicAddress}${peer.reportedState ? `, ${peer.reportedState}` : ''}` : 'unknown'}`,
    `Heartbeat: ${st.heartbeat}${st.lastHeartbeatAt ? ` (last ${st.lastHeartbeatAt})` : ''}`,
    `Monitor: ${st.monitor.reachable ? 'reachable' : 'unreachable'}`,
    `Replication: ${st.replication.streaming ? 'streaming' : 'not streaming'}${standbys.length ? ` (${standbys.join('; ')})` : st.replication.receiverStatus ? ` (receiver ${st.replication.receiverStatus}, replayed ${st.replication.replayLsn})` : ''}`,
  ];
}
