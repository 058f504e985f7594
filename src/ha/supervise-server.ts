import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadSupervisorConfig, type SupervisorConfig } from '../config/config';
import { createLogger } from '../config/logger';
import { HaFiles, localOf } from './cluster-config';
import { ClusterGuard, probeRole } from './handover';
import { SPARE_READY, Supervisor } from './supervisor';

/** systemd's default stop timeout is 90 s; the server's own shutdown needs part of it. */
const HANDOVER_ON_STOP_MS = 30_000;
const WILDCARDS = new Set(['0.0.0.0', '::', '']);
const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/** Where to probe: the bind address, or on a wildcard bind the node's own cluster address (else loopback). */
function probeHost(config: SupervisorConfig, files: HaFiles): string {
  if (!WILDCARDS.has(config.bind)) return config.bind;
  const cluster = files.readCluster();
  return cluster ? localOf(cluster).publicAddress : config.bind === '::' ? '::1' : '127.0.0.1';
}

const PROMOTE = 'slm:serve';

/**
 * `slm serve --spare`: waits, with the server's code already loaded, until the supervisor promotes
 * this process; exits if the supervisor goes away (before or after): a server without its
 * supervisor would hold the address its successor needs.
 */
export function untilPromoted(): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    if (!process.connected) process.exit(0);
    process.once('disconnect', () => process.exit(0));
    const onMessage = (message: unknown) => {
      if (message !== PROMOTE) return;
      process.off('message', onMessage);
      process.channel?.unref();
      resolve();
    };
    process.on('message', onMessage);
    process.send(SPARE_READY);
  });
}

/**
 * `slm serve --supervised`: what systemd starts. Runs `slm serve` (same entry, same environment) as
 * a child under a Supervisor and forwards SIGTERM/SIGINT to it.
 */
export function superviseServer(entry: string): void {
  const config = loadSupervisorConfig();
  const level = process.env.SLM_LOG_LEVEL ?? 'info';
  const logger = createLogger((LOG_LEVELS.has(level) ? level : 'info') as Parameters<typeof createLogger>[0]);
  const files = new HaFiles(config.dataDir);
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const guard = new ClusterGuard(files, logger, config.probeMs);
  const supervisor = new Supervisor({
    ...config,
    // Every server starts as a waiting process (its code loaded) and serves once promoted.
    spawnServer: () => spawn(process.execPath, [entry, 'serve', '--spare'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: process.env }),
    promote: (child) => child.connected && child.send(PROMOTE),
    onState: (state) => writeFileSync(path.join(config.dataDir, 'supervisor.json'), JSON.stringify(state) + '\n', { mode: 0o600 }),
    probe: (timeoutMs) => probeRole(probeHost(config, files), config.port, timeoutMs),
    guard,
    logger,
  });
  supervisor.start();
  logger.info({ probeMs: config.probeMs, hungMs: config.hungMs, handoverMs: config.handoverMs }, 'supervisor: watching the server');
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    // Stopping the service on the node that should be Active: hand over first, while this server
    // still serves, so the VIP moves in a switchover instead of going dark.
    if (await guard.assignedPrimary()) {
      logger.warn({ signal }, 'supervisor: stopping on the primary node: handing the cluster over first');
      const why = await Promise.race([guard.handOver('the service is stopping'), sleep(HANDOVER_ON_STOP_MS, 'timed out')]);
      if (why) logger.error({ why }, 'supervisor: no hand-over before stopping');
    }
    logger.info({ signal }, 'supervisor: stopping the server');
    await supervisor.stop(signal, 60_000);
    await supervisor.settled();
    await guard.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
