#!/usr/bin/env node
import { Command } from 'commander';
import { loadConfig, ConfigError } from '../config/config';
import { createLogger } from '../config/logger';
import { startServer } from '../server';
import { pgRunner, pgliteRunner } from '../store/sql-runner';
import { applyMigrations } from '../store/migrate';
import { registerAdminCommands } from './admin-commands';
import { superviseServer, untilPromoted } from '../ha/supervise-server';

export const program = new Command('slm')
  .description('slm-onprem: on-premises smart-licensing server')
  .showHelpAfterError();

program
  .command('serve')
  .description('start the HTTPS server (embedded store unless DATABASE_URL is set)')
  .option('--supervised', 'run the server as a child that is restarted on exit, probed every second, killed when hung, and whose cluster is handed over when it cannot serve (what systemd starts)')
  .option('--spare', 'internal (used by --supervised): load, then wait until the supervisor says to serve')
  .action(async (o: { supervised?: boolean; spare?: boolean }) => {
    if (o.supervised) return superviseServer(process.argv[1]);
    const config = loadConfig();
    const logger = createLogger(config.logLevel);
    const server = await startServer(config, logger, undefined, o.spare ? untilPromoted : undefined);
    const shutdown = (signal: string) => {
      logger.info({ signal }, 'shutting down: finishing in-flight requests');
      server.stop().then(
        () => process.exit(0),
        (err) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    // `on`, not `once`: a dependency uses signal-exit, which re-raises the signal (killing the
    // process mid-shutdown) when it finds no other listener left.
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGINT', () => shutdown('SIGINT'));
  });

program
  .command('db')
  .description('database maintenance')
  .command('migrate')
  .description('apply pending migrations to the configured store')
  .action(async () => {
    const config = loadConfig();
    if (config.databaseUrl) {
      const runner = await pgRunner(config.databaseUrl);
      try {
        report(await applyMigrations(runner));
      } finally {
        await runner.close();
      }
    } else {
      const { PGlite } = await import('@electric-sql/pglite');
      const lite = new PGlite(`${config.dataDir}/pglite`);
      report(await applyMigrations(pgliteRunner(lite)));
      await lite.close();
    }
  });

function report(applied: string[]) {
  console.log(applied.length ? `Applied: ${applied.join(', ')}` : 'Database is up to date.');
}

registerAdminCommands(program);

if (require.main === module) {
  program.parseAsync(process.argv).catch((err) => {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    console.error(`Error: ${err.message ?? err}`);
    process.exit(1);
  });
}
