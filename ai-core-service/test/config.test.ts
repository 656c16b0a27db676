import { ConfigError, loadConfig } from '@context-qa/common/config';
import { configSchema } from '../src/config';
import { testHooksFrom } from '../src/test-hooks';

const base = { AZURE_OPENAI_ENDPOINT: 'http://127.0.0.1:4010' };
const refusal = (env: Record<string, string>) => {
  try {
    loadConfig(configSchema, { ...base, ...env });
  } catch (err) {
    return err as Error;
  }
  return undefined;
};

describe('ai-core configuration: limits that contradict each other are refused, naming the variables', () => {
  test('when the defaults are used, then they agree', () => {
    expect(refusal({})).toBeUndefined();
  });

  test.each([
    [{ MODEL_TIMEOUT_MS: '40000' }, /MODEL_TIMEOUT_MS: .*REQUEST_TIMEOUT_MS/],
    [
      { MODEL_TIMEOUT_MS: '28000' },
      /MODEL_TIMEOUT_MS: .*CACHE_TIMEOUT_MS and STORE_TIMEOUT_MS exceeds REQUEST_TIMEOUT_MS/,
    ],
    [{ STREAM_IDLE_TIMEOUT_MS: '20000' }, /STREAM_IDLE_TIMEOUT_MS: .*REQUEST_TIMEOUT_MS/],
    [{ SHUTDOWN_GRACE_MS: '10000' }, /SHUTDOWN_GRACE_MS: .*REQUEST_TIMEOUT_MS/],
    [{ SERVER_HEADERS_TIMEOUT_MS: '20000' }, /SERVER_HEADERS_TIMEOUT_MS: .*SERVER_BODY_TIMEOUT_MS/],
    [{ AZURE_OPENAI_ENDPOINT: 'https://YOUR-RESOURCE.openai.azure.com' }, /AZURE_OPENAI_ENDPOINT: .*placeholder/],
  ])('when %o, then start is refused with %p', (env, message) => {
    const err = refusal(env);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err?.message).toMatch(message);
  });
});

describe('the cache write-back delay (a test hook, not a setting)', () => {
  test('when CACHE_WRITEBACK_DELAY_MS is in the environment, then the configuration has no such setting; only the test hooks take the delay', () => {
    expect(loadConfig(configSchema, { ...base, CACHE_WRITEBACK_DELAY_MS: '2500' })).not.toHaveProperty(
      'CACHE_WRITEBACK_DELAY_MS',
    );
    expect(testHooksFrom({ CONTEXT_QA_TEST_HOOKS: '{"cacheWriteBackDelayMs":2500}' })).toEqual({
      cacheWriteBackDelayMs: 2500,
    });
    expect(() => testHooksFrom({ CONTEXT_QA_TEST_HOOKS: '{"cacheWriteBackDelayMs":60000}' })).toThrow();
  });
});
