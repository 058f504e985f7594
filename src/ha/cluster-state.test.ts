import { clusterHealth, DEGRADED_MESSAGE, earliestPromotionMs, monitorAnswerTrusted, roleOf } from './cluster-state';
import { FAILOVER_PROFILES } from './engine';
import type { MonitorNode } from './monitor';

const node = (name: string, state: string, over: Partial<MonitorNode> = {}): MonitorNode => ({
  nodeId: 1, name, host: '127.0.0.1', port: 1, goalState: state, reportedState: state, pgIsRunning: true,
  replicationState: 'quorum', healthy: true, reportTime: new Date(), ...over,
});

describe('roleOf', () => {
  test('When the monitor assigned primary and PostgreSQL is out of recovery, then the node is active', () => {
    for (const goal of ['primary', 'wait_primary', 'single']) expect(roleOf({ goalState: goal }, false)).toBe('active');
  });
  test('When PostgreSQL is still in recovery, then the node is standby even if promoted by the monitor', () => {
    expect(roleOf({ goalState: 'primary' }, true)).toBe('standby');
  });
  test('When the goal is not writable or anything is unknown, then the node is standby', () => {
    expect(roleOf({ goalState: 'draining' }, false)).toBe('standby');
    expect(roleOf({ goalState: 'secondary' }, false)).toBe('standby');
    expect(roleOf(undefined, false)).toBe('standby');
    expect(roleOf({ goalState: 'primary' }, undefined)).toBe('standby');
  });
});

describe('clusterHealth', () => {
  const healthy = [node('primary-node', 'primary'), node('secondary-node', 'secondary')];
  test('When both nodes are at their states, heartbeats arrive and replication streams, then Normal', () => {
    expect(clusterHealth(healthy, true, true).status).toBe('Normal');
  });
  test('When the heartbeat is lost, then Degraded with the reference message', () => {
    expect(clusterHealth(healthy, false, true)).toEqual({ status: 'Degraded', message: DEGRADED_MESSAGE });
  });
  test('When a node is unhealthy, then Degraded even though its stale state is moving', () => {
    const nodes = [node('primary-node', 'wait_primary'), node('secondary-node', 'catchingup', { reportedState: 'secondary', healthy: false })];
    expect(clusterHealth(nodes, true, false).status).toBe('Degraded');
  });
  test('When a node is between states while both are up, then Failover names it', () => {
    const nodes = [node('primary-node', 'draining', { reportedState: 'primary' }), node('secondary-node', 'prepare_promotion', { reportedState: 'secondary' })];
    const health = clusterHealth(nodes, true, true);
    expect(health.status).toBe('Failover');
    expect(health.message).toContain('primary-node is going from primary to draining');
  });
  test('When replication is not streaming, then Degraded', () => {
    expect(clusterHealth(healthy, true, false).status).toBe('Degraded');
  });
});

describe('monitorAnswerTrusted', () => {
  const base = { askedAt: 10_000, promotionAfterMs: 2000, toleranceMs: 20_000, checkEveryMs: 250 };
  test('When PostgreSQL commits synchronously, then the last monitor answer is trusted for the tolerance (a monitor restart does not stop the service)', () => {
    expect(monitorAnswerTrusted({ ...base, synchronous: true, now: 25_000 })).toBe(true);
    expect(monitorAnswerTrusted({ ...base, synchronous: true, now: 30_001 })).toBe(false);
  });
  test('When PostgreSQL commits asynchronously or that is unknown, then the answer expires a lease check before the monitor could have promoted the standby', () => {
    for (const synchronous of [false, undefined]) {
      expect(monitorAnswerTrusted({ ...base, synchronous, now: 11_700 })).toBe(true);
      expect(monitorAnswerTrusted({ ...base, synchronous, now: 11_751 })).toBe(false);
    }
  });
  test('When the promotion could come later than the tolerance, then the tolerance bounds the answer', () => {
    expect(monitorAnswerTrusted({ ...base, promotionAfterMs: 49_000, synchronous: false, now: 30_001 })).toBe(false);
  });
  test('When the monitor never answered, then nothing is trusted', () => {
    expect(monitorAnswerTrusted({ ...base, askedAt: undefined, synchronous: true, now: 10_000 })).toBe(false);
  });
});

describe('earliestPromotionMs', () => {
  test('When the profile is fast, then the standby cannot be writable within 2 s of the last answer', () => {
    expect(earliestPromotionMs(FAILOVER_PROFILES.fast!)).toBe(2000);
  });
});
