import path from 'node:path';
import { ADMIN_PASSWORD, type TestServer } from './test-server';

/**
 * Runs `slm <args>` in this process against a test server and captures what it prints; a failing
 * command's `process.exit(n)` becomes a thrown `exit n`. Call inside a describe (it installs hooks).
 */
export function inProcessCli() {
  let printed: string[] = [];
  let spies: jest.SpyInstance[] = [];
  beforeEach(() => {
    spies = [
      jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void printed.push(a.join(' '))),
      jest.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void printed.push(a.join(' '))),
      jest.spyOn(process, 'exit').mockImplementation((code?: string | number | null) => {
        throw new Error(`exit ${code}`);
      }),
    ];
  });
  afterEach(() => spies.forEach((spy) => spy.mockRestore()));
  return {
    async slm(...args: string[]): Promise<string> {
      printed = [];
      const { program } = await import('../../src/cli/index');
      await program.parseAsync(['node', 'slm', ...args]);
      return printed.join('\n');
    },
    /** The options that point an admin command at the server. */
    adminOptions: (server: TestServer) => ['--url', server.url, '--password', ADMIN_PASSWORD, '--ca', path.join(server.dataDir, 'certs', 'ca.pem')],
    printed: () => printed.join('\n'),
  };
}
