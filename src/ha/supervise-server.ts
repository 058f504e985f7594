import { spawn } from 'node:child_process';
import { loadSupervisorConfig, type SupervisorConfig } from '../config/config';
import { createLogger } from '../config/logger';
import { HaFiles, localOf } from './cluster-config';
import { ClusterGuard, probeRole } from './handover';
import { Supervisor } from './supervisor';

const WILDCARDS = new Set(['0.0.0.0', '::', '']);
const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/** Where to probe: the bind address, or on a wildcard bind the node's own cluster address (else loopback). */
function probeHost(config: SupervisorConfig, files: HaFiles): string {
  if (!WILDCARDS.has(config.bind)) return config.bind;
  const cluster = files.readCluster();
  return cluster ? localOf(cluster).publicAddress : config.bind === '::' ? '::1' : '127.0.0.1';
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
  const guard = new ClusterGuard(files, logger, config.probeMs);
  const supervisor = new Supervisor({
    ...config,
    spawnServer: () => spawn(process.execPath, [entry, 'serve'], { stdio: 'inherit', env: process.env }),
    probe: (timeoutMs) => probeRole(probeHost(config, files), config.port, timeoutMs),
    guard,
    logger,
  });
  supervisor.start();
  logger.info({ probeMs: config.probeMs, hungMs: config.hungMs, handoverMs: config.handoverMs }, 'supervisor: watching the server');
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'supervisor: stopping the server');
    void supervisor
      .stop(signal, 60_000)
      .then(() => supervisor.settled())
      .then(() => guard.close())
      .finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
