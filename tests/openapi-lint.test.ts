import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../src/config/paths';

describe('openapi.yaml', () => {
  test('When linted with Redocly (recommended rules), then it has no error and no warning', () => {
    let output: string;
    try {
      output = execFileSync(path.join(PROJECT_ROOT, 'node_modules', '.bin', 'redocly'), ['lint', 'openapi.yaml', '--format=stylish'], {
        cwd: PROJECT_ROOT,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      throw new Error(`redocly lint failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    }
    expect(output).toMatch(/Woohoo! Your API description is valid|validated in/);
    expect(output).not.toMatch(/^\s+\d+:\d+\s+(warning|error)\s/m);
  });
});
