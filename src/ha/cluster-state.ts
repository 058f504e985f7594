import type { FailoverTimings } from './engine';
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

/** How often a keeper reports to the monitor (pg_autoctl's loop). */
const KEEPER_REPORT_MS = 1000;

/**
 * The earliest the monitor can make the standby writable after it last told this node "primary":
 * it first has to miss this node's reports for node_considered_unhealthy_timeout (counted from the
 * last report, up to one report loop before that answer), then wait primary_demote_timeout for a
 * primary that does not answer. The standby's own promotion (about 1 s here) is left as margin.
 */
export function earliestPromotionMs(t: Pick<FailoverTimings, 'unhealthy' | 'demote'>): number {
  return t.unhealthy - KEEPER_REPORT_MS + t.demote;
}

/**
 * Whether the monitor's last answer (asked at `askedAt`) still lets this node act on it, in
 * particular stay Active. While the local PostgreSQL commits synchronously, a primary cut off from
 * the monitor cannot acknowledge a commit once its standby has been promoted (the commit waits for
 * that standby), so the answer is trusted for `toleranceMs` and a monitor restart does not stop the
 * service. While it commits asynchronously (`wait_primary`), or when that is unknown, both could
 * acknowledge writes once the standby is promoted: the answer is trusted only until
 * `promotionAfterMs` less the interval at which the lease is checked.
 */
export function monitorAnswerTrusted(o: { askedAt?: number; now: number; synchronous?: boolean; promotionAfterMs: number; toleranceMs: number; checkEveryMs: number }): boolean {
  if (o.askedAt === undefined) return false;
  const validMs = o.synchronous === true ? o.toleranceMs : Math.min(o.toleranceMs, Math.max(o.checkEveryMs, o.promotionAfterMs - o.checkEveryMs));
  return o.now - o.askedAt <= validMs;
}
