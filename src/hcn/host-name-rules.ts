import { isIP } from 'node:net';
import { badRequest } from '../errors';

export type HostNameKind = 'ipv4' | 'ipv6' | 'fqdn';
export type ValidHostName = { name: string; kind: HostNameKind };

/** Why a name was refused; sent as `details.reason` with INVALID_HOST_COMMON_NAME. */
export type InvalidReason =
  | 'EMPTY'
  | 'TOO_LONG'
  | 'WILDCARD'
  | 'MALFORMED'
  | 'LABEL_TOO_LONG'
  | 'NOT_FULLY_QUALIFIED'
  | 'UNUSABLE_ADDRESS';

const MAX_NAME = 253; // RFC 1035 2.3.4, without the trailing dot
const MAX_LABEL = 63;
const LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/; // RFC 1123 2.1: letters, digits, inner hyphens
// Products cannot reach the server at these: they mean "any" or "everyone", not a host.
const UNUSABLE = new Set(['0.0.0.0', '255.255.255.255', '::']);

const invalid = (reason: InvalidReason, message: string) =>
  badRequest('INVALID_HOST_COMMON_NAME', message, { reason });

/**
 * Checks and normalizes a Host Common Name: an IPv4 address, an IPv6 address (canonical
 * RFC 5952 form, brackets allowed on input) or a fully qualified domain name (RFC 1123,
 * lower-cased, trailing dot dropped). In dual-stack deployments only an FQDN is accepted,
 * because one address cannot reach the server over both IPv4 and IPv6.
 */
export function normalizeHostCommonName(input: string, opts: { dualStack: boolean }): ValidHostName {
  const raw = input.trim();
  if (raw === '') throw invalid('EMPTY', 'the Host Common Name is empty');
  if (raw.includes('*')) throw invalid('WILDCARD', 'a wildcard is not allowed in the Host Common Name');
  if (raw.length > MAX_NAME + 2) throw invalid('TOO_LONG', `the Host Common Name is longer than ${MAX_NAME} characters`);
  const address = parseAddress(raw);
  if (address) {
    if (opts.dualStack) {
      throw badRequest('FQDN_REQUIRED_IN_DUAL_STACK', 'in a dual-stack deployment the Host Common Name must be an FQDN, not an IP address', { reason: 'IP_ADDRESS_IN_DUAL_STACK' });
    }
    if (UNUSABLE.has(address.name)) throw invalid('UNUSABLE_ADDRESS', `${address.name} is not an address products can reach`);
    return address;
  }
  return { name: normalizeFqdn(raw), kind: 'fqdn' };
}

function parseAddress(raw: string): ValidHostName | undefined {
  const unbracketed = /^\[(.*)\]$/.exec(raw)?.[1] ?? raw;
  if (unbracketed.includes('%')) throw invalid('MALFORMED', 'an IPv6 zone index (%...) is not allowed in the Host Common Name');
  const version = isIP(unbracketed);
  if (version === 4 && unbracketed === raw) return { name: unbracketed, kind: 'ipv4' };
  if (version === 6) return { name: new URL(`http://[${unbracketed}]/`).hostname.slice(1, -1), kind: 'ipv6' };
  if (unbracketed !== raw) throw invalid('MALFORMED', `${raw} is not a valid IPv6 address`);
  return undefined;
}

function normalizeFqdn(raw: string): string {
  const name = raw.toLowerCase().replace(/\.$/, '');
  if (name.length > MAX_NAME) throw invalid('TOO_LONG', `the Host Common Name is longer than ${MAX_NAME} characters`);
  const labels = name.split('.');
  for (const label of labels) {
    if (label.length > MAX_LABEL) throw invalid('LABEL_TOO_LONG', `the label "${label.slice(0, 20)}..." is longer than ${MAX_LABEL} characters`);
    if (!LABEL.test(label)) {
      throw invalid('MALFORMED', `"${raw}" is neither an IP address nor a valid host name (letters, digits and inner hyphens, labels separated by dots)`);
    }
  }
  // All-numeric top label: either a mistyped IPv4 address (1.2.3.256) or not a DNS name (RFC 1123 2.1).
  if (/^[0-9]+$/.test(labels[labels.length - 1])) throw invalid('MALFORMED', `"${raw}" is not a valid IPv4 address nor a domain name`);
  if (labels.length < 2) throw invalid('NOT_FULLY_QUALIFIED', `"${raw}" is not fully qualified: use a name with its domain (e.g. ${name}.example.com) or an IP address`);
  return name;
}
