import type { MonitorNode } from './monitor';

/** Goal states in which the monitor wants the node to accept writes. */
export const ACTIVE_GOAL_STATES = new Set(['primary', 'wait_primary', 'single']);

export type Role = 'active' | 'standby';

/**
 * A node is Active only while both agree: the monitor assigned it a writable goal state, and its
 * local PostgreSQL is out of recovery. Anything unknown counts as Standby.
 */
export function roleOf(local: Pick<MonitorNode, 'goalState'> | undefined, inRecovery: boolean | undefined): Role {
  return local && ACTIVE_GOAL_STATES.has(local.goalState) && inRecovery === false ? 'active' : 'standby';
}

/**
 * The monitor accepts a switchover only from a settled primary (reported and assigned `primary`) to
 * a healthy settled secondary; right after a failover or a rejoin it answers "couldn't find the
 * primary node" for a moment.
 */
export function switchoverReady(me: MonitorNode | undefined, peer: MonitorNode | undefined): boolean {
  return me?.goalState === 'primary' && me.reportedState === 'primary' && peer !== undefined && peer.healthy && peer.reportedState === 'secondary' && peer.goalState === 'secondary';
}

export type ClusterHealth = { status: 'Normal' | 'Degraded' | 'Failover'; message: string };

export const DEGRADED_MESSAGE = 'The cluster is degraded. One of the cluster nodes is offline';

/**
 * Normal: both nodes healthy at their assigned states, heartbeat Connected and the standby
 * streaming. A node that is down (unhealthy, PostgreSQL not running, or no heartbeat) makes the
 * cluster Degraded, whatever its stale state says; otherwise a node between states means a
 * failover or switchover is under way.
 */
export function clusterHealth(nodes: MonitorNode[], heartbeatConnected: boolean, streaming: boolean): ClusterHealth {
  const down = nodes.length < 2 || !heartbeatConnected || nodes.some((n) => !n.healthy || !n.pgIsRunning);
  if (down) return { status: 'Degraded', message: DEGRADED_MESSAGE };
  const moving = nodes.find((n) => n.reportedState !== n.goalState);
  if (moving) {
    return { status: 'Failover', message: `A failover is in progress: ${moving.name} is going from ${moving.reportedState} to ${moving.goalState}` };
  }
  if (!streaming) return { status: 'Degraded', message: `${DEGRADED_MESSAGE} (replication is not streaming)` };
  return { status: 'Normal', message: 'The cluster is running normally' };
}
