#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, Help } from 'commander';
import { PROJECT_ROOT } from '../config/paths';
import { ApiError } from './api-client';
import { formatError } from './command-kit';
import { loadConfig, ConfigError } from '../config/config';
import { createLogger } from '../config/logger';
import { startServer } from '../server';
import { pgRunner, pgliteRunner } from '../store/sql-runner';
import { applyMigrations } from '../store/migrate';
import { openPglite } from '../store/embedded';
import { registerAdminCommands } from './admin-commands';
import { superviseServer, untilPromoted } from '../ha/supervise-server';

const VERSION = (JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const wantsJson = (argv: string[]) => argv.includes('--json');

export const program = new Command('slm')
  .description('slm-onprem: on-premises smart-licensing server')
  .version(VERSION, '-V, --version', 'print the version')
  .showHelpAfterError(!wantsJson(process.argv))
  // Inherited by every command created below: help marks required options, usage errors follow --json.
  .configureHelp({
    optionDescription: (option) => `${new Help().optionDescription(option)}${option.mandatory ? ' (required)' : ''}`,
  })
  .configureOutput({
    outputError: (text, write) => write(wantsJson(process.argv) ? `${formatError(new ApiError(0, 'USAGE', text.replace(/^error: /, '').trim()), true)}\n` : text),
  });

program
  .command('serve')
  .description('start the HTTPS server (embedded store unless DATABASE_URL is set)')
  .option('--supervised', 'run the server as a child that is restarted on exit, probed every second, killed when hung, and whose cluster is handed over when it cannot serve (what systemd starts)')
  .option('--spare', 'internal (used by --supervised): load, then wait until the supervisor says to serve')
  .action(async (o: { supervised?: boolean; spare?: boolean }) => {
    if (o.supervised) return superviseServer(process.argv[1]);
    const config = loadConfig();
    const logger = createLogger(config.logLevel);
    const server = await startServer(config, logger, undefined, o.spare ? untilPromoted : undefined).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EADDRINUSE') throw err;
      throw new ApiError(0, 'ADDRESS_IN_USE', `${config.bind}:${config.port} is in use: stop the server that holds it (another slm serve?) or set SLM_PORT`);
    });
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
      const embedded = await openPglite(config.dataDir);
      try {
        report(await applyMigrations(pgliteRunner(embedded.lite)));
      } finally {
        await embedded.close();
      }
    }
  });

function report(applied: string[]) {
  console.log(applied.length ? `Applied: ${applied.join(', ')}` : 'Database is up to date.');
}

registerAdminCommands(program);

/**
 * Commander shows help and exits 0 for `slm <unknown> --help`, hiding the typo from scripts: an
 * unknown command word is an error wherever it appears, help or not.
 */
export function checkCommandWords(root: Command, args: string[]): void {
  let cmd = root;
  for (const word of args) {
    if (word.startsWith('-') || cmd.commands.length === 0) return;
    const next = cmd.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (!next) {
      if (word === 'help') return;
      cmd.error(`error: unknown command '${word}'${cmd === root ? '' : ` for '${cmd.name()}'`} (see: slm ${cmd === root ? '' : `${cmd.name()} `}--help)`, { exitCode: 1, code: 'commander.unknownCommand' });
    }
    cmd = next!;
  }
}

/** The command line as a user runs it (`bin/slm`, `npm run slm`): every error ends with a non-zero exit. */
export function main(argv: string[]): void {
  const run = async () => {
    checkCommandWords(program, argv.slice(2));
    await program.parseAsync(argv);
  };
  run().catch((err) => {
    if (err instanceof ConfigError) {
      console.error(wantsJson(argv) ? formatError(new ApiError(0, 'INVALID_CONFIGURATION', err.message), true) : err.message);
      process.exit(2);
    }
    console.error(formatError(err, wantsJson(argv)));
    process.exit(1);
  });
}

if (require.main === module) main(process.argv);
