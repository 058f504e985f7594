import type { Command } from 'commander';
import { action, apiFor, output, withApiOptions, type CommonOpts } from '../cli/command-kit';

type HostCommonNameView = {
  name: string;
  syncRequired: boolean;
  changedAt: string | null;
  certificate: { subject: string; issuer: string; subjectAltNames: string[]; serialNumber: string; notBefore: string; notAfter: string; fingerprintSha256: string };
};

const ROUTE = '/api/v1/settings/host-common-name';

/** One field per line: the certificate details do not fit a one-row table. */
function present(opts: CommonOpts, view: HostCommonNameView): void {
  const c = view.certificate;
  output(opts, view, [
    { field: 'Host Common Name', value: view.name },
    { field: 'Sync required', value: view.syncRequired ? 'yes (synchronize before products can register)' : 'no' },
    { field: 'Changed at', value: view.changedAt ?? '-' },
    { field: 'Subject', value: c.subject },
    { field: 'Subject alt names', value: c.subjectAltNames.join(', ') },
    { field: 'Issuer', value: c.issuer },
    { field: 'Valid', value: `${c.notBefore} .. ${c.notAfter}` },
    { field: 'SHA-256 fingerprint', value: c.fingerprintSha256 },
  ]);
}

export function registerHcnCommands(program: Command): void {
  const hcn = program.command('hcn').description('Host Common Name (Security > Certificates): the name products use to reach the server');

  withApiOptions(hcn.command('show').description('show the Host Common Name, its TLS certificate and whether a sync is required')).action(
    action(async (opts: CommonOpts) => present(opts, await apiFor(opts).call<HostCommonNameView>('GET', ROUTE))),
  );

  withApiOptions(
    hcn
      .command('set')
      .description('set the Host Common Name (IPv4, IPv6 or FQDN); regenerates the TLS certificate; synchronize afterwards')
      .argument('<name>', 'IP address or fully qualified domain name'),
  ).action(
    action(async (name: string, opts: CommonOpts) => present(opts, await apiFor(opts).call<HostCommonNameView>('PUT', ROUTE, { name }))),
  );
}
