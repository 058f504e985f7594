import { Command } from 'commander';
import { ApiError } from './api-client';
import { formatError, progress } from './command-kit';
import { checkCommandWords } from './index';

describe('command-kit', () => {
  test('When the server asked to wait, then the error says how long; under --json the error is the API shape', () => {
    const limited = new ApiError(429, 'RATE_LIMITED', 'too many failed logins', { retryAfterSeconds: 300 });
    expect(formatError(limited, false)).toBe('RATE_LIMITED: too many failed logins (try again in 5 min)');
    expect(formatError(new ApiError(429, 'RATE_LIMITED', 'slow down', { retryAfterSeconds: 42 }), false)).toBe('RATE_LIMITED: slow down (try again in 42 s)');
    expect(JSON.parse(formatError(limited, true))).toEqual({ error: { code: 'RATE_LIMITED', message: 'too many failed logins', details: { retryAfterSeconds: 300 } } });
    expect(formatError(new Error('boom'), false)).toBe('ERROR: boom');
  });

  test('When stderr is not a terminal or --json is set, then progress writes nothing; on a terminal it draws and clears one line', () => {
    const written: string[] = [];
    const stream = (isTTY: boolean) => ({ isTTY, write: (s: string) => written.push(s) }) as unknown as NodeJS.WriteStream;
    progress({}, 'Syncing', stream(false)).done();
    progress({ json: true }, 'Syncing', stream(true)).done();
    expect(written).toEqual([]);
    const line = progress({}, 'Syncing', stream(true));
    line.update('attempt 2 of 5');
    line.done();
    expect(written.join('')).toContain('Syncing: attempt 2 of 5 (0 s)');
    expect(written[written.length - 1]).toBe('\r\x1b[K');
  });

  test('When a command word is unknown at any depth, then the CLI refuses it even with --help', () => {
    const root = new Command('slm').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    root.command('account').command('list');
    expect(() => checkCommandWords(root, ['account', 'list', '--json'])).not.toThrow();
    expect(() => checkCommandWords(root, ['acount', '--help'])).toThrow(/unknown command 'acount'/);
    expect(() => checkCommandWords(root, ['account', 'lst', '--help'])).toThrow(/unknown command 'lst' for 'account'/);
  });
});
