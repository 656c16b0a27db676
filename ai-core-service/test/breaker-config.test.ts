import { ConfigError, loadConfig } from '@context-qa/common/config';
import { configSchema } from '../src/config';

const base = { AZURE_OPENAI_ENDPOINT: 'http://127.0.0.1:4010' };
const load = (env: Record<string, string>) => () => loadConfig(configSchema, { ...base, ...env });

describe("the breaker's rolling window covers the longest call it judges", () => {
  test('when the window is shorter than a stream may run (REQUEST_TIMEOUT_MS), then start is refused naming both', () => {
    expect(load({ BREAKER_ROLLING_WINDOW_MS: '10000' })).toThrow(ConfigError);
    expect(load({ BREAKER_ROLLING_WINDOW_MS: '10000' })).toThrow(
      /BREAKER_ROLLING_WINDOW_MS: .*MODEL_TIMEOUT_MS \(15000 ms\).*REQUEST_TIMEOUT_MS \(30000 ms\)/,
    );
  });

  test("when the window just equals the request budget, then start is refused: Opossum drops a call's bucket after 0.9 × the window", () => {
    expect(load({ BREAKER_ROLLING_WINDOW_MS: '30000' })).toThrow(
      /BREAKER_ROLLING_WINDOW_MS: 30000 ms counts a call for as little as 27000 ms .*use at least 33340 ms/,
    );
    expect(load({ BREAKER_ROLLING_WINDOW_MS: '33340' })).not.toThrow();
  });

  test('when the window counts a call for the whole request budget, then the configuration is accepted (the default is, with margin)', () => {
    expect(loadConfig(configSchema, base).BREAKER_ROLLING_WINDOW_MS).toBe(40_000);
    expect(load({})).not.toThrow();
    expect(
      load({
        REQUEST_TIMEOUT_MS: '20000',
        SHUTDOWN_GRACE_MS: '20000',
        MODEL_TIMEOUT_MS: '10000',
        BREAKER_ROLLING_WINDOW_MS: '22230',
      }),
    ).not.toThrow();
  });
});
