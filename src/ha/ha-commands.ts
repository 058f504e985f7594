import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { loadConfig } from '../config/config';
import { AppError } from '../errors';
import { HaAdmin } from './ha-admin';
import { VIP_DRIVERS, type VipDriverName } from './cluster-config';
import { FAILOVER_PROFILES, type FailoverProfile } from './engine';

const admin = () => {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    throw permissionError(err) ?? err;
  }
  return new HaAdmin({
    dataDir: config.dataDir,
    databaseUrl: config.databaseUrl,
    kekFromEnv: process.env.SLM_KEK || undefined,
    serverPort: config.port,
    say: (line) => console.log(line),
  });
};

/** Errors print as `Error: CODE: message` and exit 1, so scripts can act on the code. */
const run = <A extends unknown[]>(fn: (...args: A) => Promise<void>) => async (...args: A) => {
  try {
    await fn(...args);
  } catch (err) {
    const e = err instanceof AppError ? err : permissionError(err);
    if (!e) throw err;
    console.error(`Error: ${e.code}: ${e.message}`);
    process.exit(1);
  }
};

/** The ha commands read the data directory (keys, KEK) and run pg_autoctl as postgres: they need the server's user or root. */
function permissionError(err: unknown): AppError | undefined {
  const e = err as NodeJS.ErrnoException;
  if (e?.code !== 'EACCES' && e?.code !== 'EPERM') return undefined;
  const who = process.getuid?.() === 0 ? 'root' : `uid ${process.getuid?.()}`;
  return new AppError('HA_PERMISSION_DENIED', 403, `${e.path ?? e.message}: not allowed for ${who}. Run the ha commands as root (sudo) or as the server's own user.`);
}

const port = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new AppError('INVALID_PORT', 400, `${v} is not a port`);
  return n;
};

async function askYes(): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: false });
  process.stdout.write('Type yes to continue: ');
  const answer = await new Promise<string>((resolve) => {
    rl.once('line', resolve);
    rl.once('close', () => resolve(''));
  });
  rl.close();
  return answer;
}

type Verb = { name: string; reference: string; build: (cmd: Command) => Command };

/** Each verb exists as `slm ha <verb>`, `slm ha ha_<reference>` and `slm ha_<reference>` (the appliance's names). */
const VERBS: Verb[] = [
  {
    name: 'generatekeys',
    reference: 'ha_generatekeys',
    build: (cmd) =>
      cmd
        .description('create the cluster keys (node-to-node authentication, the shared key-encryption key), or --import the primary\'s on the secondary')
        .option('--import <file>', 'install the key file created on the primary')
        .option('--force', 'replace existing keys')
        .action(run(async (o: { import?: string; force?: boolean }) => {
          const ha = admin();
          if (o.import) ha.importKeys(o.import);
          else ha.generateKeys(o.force);
        })),
  },
  {
    name: 'deploy',
    reference: 'ha_deploy',
    build: (cmd) =>
      cmd
        .description('on the primary: create/attach the monitor, register the local database as primary, record the VIP and both nodes, start cluster services')
        .requiredOption('--vip <address>', 'the virtual IP products use')
        .option('--vip-driver <driver>', `how the VIP moves: ${VIP_DRIVERS.join(', ')}`, 'bind')
        .option('--vip-interface <name>', 'interface for the iproute2 driver', 'eth0')
        .option('--vip-prefix <bits>', 'prefix length for the iproute2 driver')
        .requiredOption('--primary-address <address>', 'public address of this (primary) node')
        .option('--primary-cluster-address <address>', 'cluster-network address of this node (default: public)')
        .requiredOption('--secondary-address <address>', 'public address of the secondary node')
        .option('--secondary-cluster-address <address>', 'cluster-network address of the secondary (default: public)')
        .option('--heartbeat-port <port>', 'node-to-node port on the cluster addresses', '8444')
        .requiredOption('--pgdata <dir>', 'data directory of the local PostgreSQL named by DATABASE_URL (adopted), or a new one')
        .option('--monitor <uri>', 'URI of the pg_auto_failover monitor on the third host')
        .option('--monitor-port <port>', 'create the monitor on this host, on this port (tests, demos)')
        .option('--monitor-host <address>', 'address of a monitor created here', '127.0.0.1')
        .option('--failover-profile <profile>', `monitor timing: ${Object.keys(FAILOVER_PROFILES).join(', ')}`, 'fast')
        .option('--clean', 'move aside what an earlier attempt or a teardown left (stale engine files, a stale monitor registration)')
        .action(run(async (o: Record<string, string>) => {
          if (!(VIP_DRIVERS as readonly string[]).includes(o.vipDriver)) throw new AppError('VIP_DRIVER_INVALID', 400, `--vip-driver must be one of ${VIP_DRIVERS.join(', ')}`);
          if (!(o.failoverProfile in FAILOVER_PROFILES)) throw new AppError('FAILOVER_PROFILE_INVALID', 400, `--failover-profile must be one of ${Object.keys(FAILOVER_PROFILES).join(', ')}`);
          await admin().deploy({
            vip: o.vip,
            vipDriver: o.vipDriver as VipDriverName,
            vipInterface: o.vipInterface,
            vipPrefixLength: o.vipPrefix ? Number(o.vipPrefix) : undefined,
            primaryAddress: o.primaryAddress,
            primaryClusterAddress: o.primaryClusterAddress,
            secondaryAddress: o.secondaryAddress,
            secondaryClusterAddress: o.secondaryClusterAddress,
            heartbeatPort: port(o.heartbeatPort),
            pgdata: o.pgdata,
            monitorUri: o.monitor,
            monitorHost: o.monitorHost,
            monitorPort: o.monitorPort ? port(o.monitorPort) : undefined,
            failoverProfile: o.failoverProfile as FailoverProfile,
            clean: o.clean !== undefined,
          });
        })),
  },
  {
    name: 'provision-standby',
    reference: 'ha_provision_standby',
    build: (cmd) =>
      cmd
        .description('on the secondary: clone the primary\'s database through the engine and start as standby')
        .requiredOption('--primary <address>', 'the primary\'s cluster address')
        .option('--heartbeat-port <port>', 'node-to-node port', '8444')
        .requiredOption('--pgdata <dir>', 'new (empty) data directory for this node\'s PostgreSQL')
        .option('--clean', 'move aside what an earlier attempt or a teardown left (the old data directory and its running PostgreSQL, a stale monitor registration, stale engine files)')
        .action(run(async (o: Record<string, string>) => {
          await admin().provisionStandby({ primary: o.primary, heartbeatPort: port(o.heartbeatPort), pgdata: o.pgdata, clean: o.clean !== undefined });
        })),
  },
  {
    name: 'cluster-stop',
    reference: 'ha_cluster_stop',
    build: (cmd) => cmd.description('stop this node\'s cluster services (an Active node hands over first)').action(run(() => admin().clusterStop())),
  },
  {
    name: 'cluster-start',
    reference: 'ha_cluster_start',
    build: (cmd) => cmd.description('start this node\'s cluster services (a former primary rejoins as standby)').action(run(() => admin().clusterStart())),
  },
  {
    name: 'status',
    reference: 'ha_status',
    build: (cmd) => cmd.description('cluster and database replication status').action(run(async () => console.log(await admin().statusText()))),
  },
  {
    name: 'teardown',
    reference: 'ha_teardown',
    build: (cmd) =>
      cmd
        .description('after a typed yes: leave the cluster and become a stand-alone server that keeps its data')
        .action(run(() => admin().teardown(askYes))),
  },
  {
    name: 'keep-this-node',
    reference: 'ha_keep_this_node',
    build: (cmd) =>
      cmd
        .description('after teardown, on the node whose copy you keep: confirm it, so it synchronizes with the vendor again')
        .action(run(() => admin().keepThisNode(askYes))),
  },
];

export function registerHaCommands(program: Command): void {
  const group = program.command('ha').description('high availability: the node pair (acts on this node)');
  for (const verb of VERBS) {
    verb.build(group.command(verb.name).alias(verb.reference));
    verb.build(program.command(verb.reference, { hidden: true }));
  }
}
