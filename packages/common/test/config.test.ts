import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError, env, loadConfig } from '@context-qa/common/config';

describe('loadConfig', () => {
  const schema = z.object({ PORT: env.port(8080), DEBUG: env.bool(false), NAME: z.string().min(1) });

  test('when the environment is valid, then values are typed and defaults applied', () => {
    expect(loadConfig(schema, { NAME: 'x', DEBUG: '1' })).toEqual({ PORT: 8080, DEBUG: true, NAME: 'x' });
  });

  test('when values are bad, then the error names every offending variable', () => {
    const err = (() => {
      try {
        loadConfig(schema, { PORT: '70000', DEBUG: 'maybe' });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err?.message).toMatch(/PORT:/);
    expect(err?.message).toMatch(/DEBUG:/);
    expect(err?.message).toMatch(/NAME:/);
  });

  test('when a service starts with a bad value, then it exits 1 naming the variable', () => {
    const main = path.join(__dirname, '../../../ai-core-service/dist/main.js');
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
