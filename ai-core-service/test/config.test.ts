import { ConfigError, loadConfig } from '@context-qa/common/config';
import { configSchema } from '../src/config';

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
    [{ MODEL_TIMEOUT_MS: '28000' }, /MODEL_TIMEOUT_MS: .*CACHE_TIMEOUT_MS and STORE_TIMEOUT_MS exceeds REQUEST_TIMEOUT_MS/],
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
