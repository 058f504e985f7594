import { setTimeout as sleep } from 'node:timers/promises';
import { AppError, badRequest } from '../errors';
import { MonitorClient, monitorUriProblem, permanentConnectError, type MonitorNode } from './monitor';

/**
 * Waits for the monitor to answer. A refused or timed-out connection is retried (a monitor
 * started just now takes a moment) for `timeoutMs`; an error that waiting cannot fix fails at once.
 */
export async function waitMonitor(uri: string, timeoutMs = 30_000): Promise<void> {
  const problem = monitorUriProblem(uri);
  if (problem) throw badRequest('HA_MONITOR_URI_INVALID', `monitor URI: ${problem}`);
  const monitor = new MonitorClient(uri);
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        await monitor.nodes();
        return;
      } catch (err) {
        if (permanentConnectError(err) || Date.now() > deadline) {
          throw new AppError('HA_MONITOR_UNREACHABLE', 503, `the monitor at ${new URL(uri).host} does not answer: ${(err as Error).message}`);
        }
        await sleep(200);
      }
    }
  } finally {
    await monitor.close();
  }
}

/** Waits until the monitor shows the node `name` in a state `done` accepts; the timeout names the engine's log folder. */
export async function waitNode(uri: string, name: string, done: (n: MonitorNode) => boolean, timeoutMs: number, logs: string): Promise<MonitorNode> {
  const monitor = new MonitorClient(uri);
  const deadline = Date.now() + timeoutMs;
  let last: MonitorNode | undefined;
  try {
    for (;;) {
      last = (await monitor.nodes().catch(() => [])).find((n) => n.name === name);
      if (last && done(last)) return last;
      if (Date.now() > deadline) {
        throw new AppError('HA_ENGINE_TIMEOUT', 504, `${name} did not reach the expected state in ${timeoutMs / 1000} s (now ${last ? `${last.reportedState} -> ${last.goalState}` : 'not registered'}); see ${logs}`);
      }
      await sleep(200);
    }
  } finally {
    await monitor.close();
  }
}
