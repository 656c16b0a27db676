/** loadConfig in a service's composition root: a bad value stops the built service (ai-core-service/dist) at start. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

describe('loadConfig at a service start', () => {
  test('when a service starts with a bad value, then it exits 1 naming the variable', () => {
    const main = path.join(__dirname, '../../../../ai-core-service/dist/main.js');
    const r = spawnSync(process.execPath, [main], {
      encoding: 'utf8',
      env: { PATH: process.env['PATH'], AZURE_OPENAI_ENDPOINT: 'not a url', MODEL_TIMEOUT_MS: '-5' },
      timeout: 20_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/AZURE_OPENAI_ENDPOINT/);
    expect(r.stderr).toMatch(/MODEL_TIMEOUT_MS/);
  });
});
