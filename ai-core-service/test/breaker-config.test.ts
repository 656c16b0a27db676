import { ConfigError, loadConfig } from '@context-qa/common';
import { configSchema } from '../src/config';

const base = { AZURE_OPENAI_ENDPOINT: 'http://127.0.0.1:4010' };
const load = (env: Record<string, string>) => () => loadConfig(configSchema, { ...base, ...env });

describe("the breaker's rolling window covers the longest call it judges", () => {
  test('when the window is shorter than a stream may run (REQUEST_TIMEOUT_MS), then start is refused naming both', () => {
    expect(load({ BREAKER_ROLLING_WINDOW_MS: '10000' })).toThrow(ConfigError);
    expect(load({ BREAKER_ROLLING_WINDOW_MS: '10000' })).toThrow(/BREAKER_ROLLING_WINDOW_MS: .*MODEL_TIMEOUT_MS \(15000 ms\).*REQUEST_TIMEOUT_MS \(30000 ms\)/);
  });

  test('when the window is at least the request budget, then the configuration is accepted (the default is)', () => {
    expect(load({})).not.toThrow();
    expect(load({ REQUEST_TIMEOUT_MS: '20000', SHUTDOWN_GRACE_MS: '20000', MODEL_TIMEOUT_MS: '10000', BREAKER_ROLLING_WINDOW_MS: '20000' })).not.toThrow();
  });
});
