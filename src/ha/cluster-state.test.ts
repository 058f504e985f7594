import { clusterHealth, DEGRADED_MESSAGE, roleOf } from './cluster-state';
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
