import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { commandGroup } from '../cli/command-kit';
import { ProductSimulator, TransportError, type EntitlementReport } from './simulator';

type StateOpts = { state: string };

/** `--entitlement TAG=COUNT`, repeatable. */
function collectEntitlement(value: string, previous: EntitlementReport[] = []): EntitlementReport[] {
  const match = /^(.+)=(\d+)$/.exec(value);
  if (!match) throw new Error(`--entitlement must look like TAG=COUNT, got "${value}"`);
  return [...previous, { tag: match[1], count: Number(match[2]) }];
}

/** Runs a product action and prints its verified answer as JSON; a transport error prints `CODE: message` and exits 1. */
function run<A extends unknown[]>(fn: (...args: A) => Promise<unknown>) {
  return async (...args: A) => {
    try {
      console.log(JSON.stringify(await fn(...args), null, 2));
    } catch (err) {
      console.error(err instanceof TransportError ? err.message : `Error: ${(err as Error).message}`);
      process.exit(1);
    }
  };
}

/**
 * `slm product ...`: a simulated product instance speaking the Transport Gateway protocol, its
 * key, instance id, certificates and trusted CA kept in `--state` (default ./product-state).
 */
export function registerProductCommands(program: Command): void {
  const product = commandGroup(program, 'product', 'product instances: the admin view, and a simulated product (Transport Gateway protocol)');
  const withState = (cmd: Command) => cmd.option('--state <dir>', 'state directory of this product', 'product-state');

  withState(product.command('register').description('register with a Product Instance Registration Token'))
    .requiredOption('--url <url>', 'transport URL, e.g. https://slm.example.com:8443/Transportgateway/services/DeviceRequestHandler')
    .requiredOption('--token <idToken>', 'registration token')
    .requiredOption('--pid <pid>', 'UDI product id')
    .requiredOption('--sn <sn>', 'UDI serial number')
    .option('--hostname <name>', 'product instance name', 'product-1')
    .option('--product-type <type>', 'product type (UCL, SDNMGMT, ...)', 'UCL')
    .option('--software-version <version>', 'software version')
    .option('--rsa', 'use an RSA 2048 key instead of P-256')
    .option('--ca <file>', 'CA certificate to trust for TLS and answers (the server\'s certs/ca.pem)')
    .option('--aud <host>', 'aud claim (default: the host of --url)')
    .action(run(async (opts: StateOpts & {
      url: string; token: string; pid: string; sn: string; hostname: string; productType: string;
      softwareVersion?: string; rsa?: boolean; ca?: string; aud?: string;
    }) => {
      const sim = ProductSimulator.create({
        stateDir: path.resolve(opts.state),
        url: opts.url,
        aud: opts.aud,
        udi: { pid: opts.pid, sn: opts.sn },
        hostname: opts.hostname,
        productType: opts.productType,
        softwareVersion: opts.softwareVersion,
        keyType: opts.rsa ? 'rsa' : 'ec',
        trustedCa: opts.ca ? readFileSync(opts.ca, 'utf8') : undefined,
      });
      return sim.register(opts.token);
    }));

  withState(product.command('renew').description('renew the ID certificate'))
    .option('--new-key', 'generate a new key pair and send its CSR')
    .action(run((opts: StateOpts & { newKey?: boolean }) => ProductSimulator.load(opts.state).renew({ newKey: opts.newKey })));

  withState(product.command('report').description('send an authorize with the current usage (replaces the previous report)'))
    .option('--entitlement <TAG=COUNT>', 'usage of one entitlement tag (repeatable)', collectEntitlement, [])
    .action(run((opts: StateOpts & { entitlement: EntitlementReport[] }) => ProductSimulator.load(opts.state).authorize(opts.entitlement)));

  withState(product.command('deregister').description('deregister and release all licenses'))
    .action(run((opts: StateOpts) => ProductSimulator.load(opts.state).deregister()));

  withState(product.command('status').description('show the stored state (no message is sent)'))
    .action(run(async (opts: StateOpts) => {
      const { state } = ProductSimulator.load(opts.state);
      return {
        instanceId: state.instanceId ?? null,
        status: state.status ?? 'NOT_REGISTERED',
        udi: state.udi,
        url: state.url,
        keyType: state.keyType,
        renewAfter: state.renewAfter ?? null,
        certificateExpires: state.idCertificate ? new Date(new X509Certificate(state.idCertificate).validTo).toISOString() : null,
        lastAuthorization: state.lastAuthorization ?? null,
      };
    }));
}
