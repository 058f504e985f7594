import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../src/config/paths';

describe('openapi.yaml', () => {
  test('When linted with Redocly (recommended rules), then it has no error and no warning', () => {
    const run = spawnSync(path.join(PROJECT_ROOT, 'node_modules', '.bin', 'redocly'), ['lint', 'openapi.yaml', '--format=stylish'], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
    });
    // Redocly prints its report on stderr.
    const output = `${run.stdout}${run.stderr}`;
    expect({ status: run.status, output }).toEqual({ status: 0, output: expect.stringContaining('openapi.yaml') });
    expect(output).not.toMatch(/^\s+\d+:\d+\s+(warning|error)\s/m);
  });
});
