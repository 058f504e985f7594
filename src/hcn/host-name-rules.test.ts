import { AppError } from '../errors';
import { normalizeHostCommonName } from './host-name-rules';

const single = { dualStack: false };
const dual = { dualStack: true };

function refusal(input: string, opts = single): { code: string; reason?: unknown } {
  try {
    normalizeHostCommonName(input, opts);
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    const e = err as AppError;
    expect(e.status).toBe(400);
    return { code: e.code, reason: e.details?.reason };
  }
  throw new Error(`${input} was accepted`);
}

describe('Host Common Name rules', () => {
  test('When the name is an IPv4 address, then it is kept as is', () => {
    expect(normalizeHostCommonName('10.20.30.40', single)).toEqual({ name: '10.20.30.40', kind: 'ipv4' });
  });

  test('When the name is an IPv6 address in any spelling, then it is stored in canonical RFC 5952 form', () => {
    expect(normalizeHostCommonName('FD00:0:0:0:0:0:0:1', single)).toEqual({ name: 'fd00::1', kind: 'ipv6' });
    expect(normalizeHostCommonName('[2001:DB8:0:0:1:0:0:1]', single)).toEqual({ name: '2001:db8::1:0:0:1', kind: 'ipv6' });
  });

  test('When the name is an FQDN with capitals, spaces around or a trailing dot, then it is lower-cased and trimmed', () => {
    expect(normalizeHostCommonName('  SLM.Example.COM. ', single)).toEqual({ name: 'slm.example.com', kind: 'fqdn' });
    expect(normalizeHostCommonName('3com.example-1.net', single).name).toBe('3com.example-1.net');
  });

  test.each([
    ['', 'EMPTY'],
    ['   ', 'EMPTY'],
    ['*.example.com', 'WILDCARD'],
    ['slm.*', 'WILDCARD'],
    ['x'.repeat(300), 'TOO_LONG'],
    [`${'a'.repeat(64)}.example.com`, 'LABEL_TOO_LONG'],
    ['slm_01.example.com', 'MALFORMED'],
    ['-slm.example.com', 'MALFORMED'],
    ['slm-.example.com', 'MALFORMED'],
    ['slm..example.com', 'MALFORMED'],
    ['slm example.com', 'MALFORMED'],
    ['https://slm.example.com', 'MALFORMED'],
    ['slm.example.com:8443', 'MALFORMED'],
    ['1.2.3.256', 'MALFORMED'],
    ['1.2.3', 'MALFORMED'],
    ['[10.0.0.1]', 'MALFORMED'],
    ['fe80::1%eth0', 'MALFORMED'],
    ['fd00::1::2', 'MALFORMED'],
    ['localhost', 'NOT_FULLY_QUALIFIED'],
    ['0.0.0.0', 'UNUSABLE_ADDRESS'],
    ['::', 'UNUSABLE_ADDRESS'],
  ])('When the name is %j, then it is refused with INVALID_HOST_COMMON_NAME reason %s', (input, reason) => {
    expect(refusal(input)).toEqual({ code: 'INVALID_HOST_COMMON_NAME', reason });
  });

  test('When the deployment is dual-stack, then IP addresses are refused with FQDN_REQUIRED_IN_DUAL_STACK and FQDNs pass', () => {
    expect(refusal('10.0.0.1', dual).code).toBe('FQDN_REQUIRED_IN_DUAL_STACK');
    expect(refusal('fd00::1', dual).code).toBe('FQDN_REQUIRED_IN_DUAL_STACK');
    expect(normalizeHostCommonName('slm.example.com', dual)).toEqual({ name: 'slm.example.com', kind: 'fqdn' });
    expect(refusal('*.example.com', dual).code).toBe('INVALID_HOST_COMMON_NAME');
  });

  test('When the name is exactly 253 characters, then it is accepted; 254 is refused', () => {
    const label = 'a'.repeat(63);
    const name253 = `${label}.${label}.${label}.${'b'.repeat(61)}`;
    expect(name253.length).toBe(253);
    expect(normalizeHostCommonName(name253, single).name).toBe(name253);
    expect(refusal(`${name253}c`).reason).toBe('TOO_LONG');
  });
});
