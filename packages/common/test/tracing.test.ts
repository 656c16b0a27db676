import { ConfigError } from '@context-qa/common/config';
import { startTracing, tracingConfigSchema, tracingEnabled } from '@context-qa/common/tracing';

const enabled = (env: NodeJS.ProcessEnv) => tracingEnabled(tracingConfigSchema.parse(env));

describe('tracing configuration', () => {
  test('when no OTLP endpoint is set, then tracing is off and no SDK starts', () => {
    expect(enabled({})).toBe(false);
    expect(startTracing('svc', {}, {})).toBeUndefined();
  });

  test('when an endpoint is set, then tracing is on unless OTEL_SDK_DISABLED', () => {
    expect(enabled({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toBe(true);
    expect(enabled({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' })).toBe(true);
    expect(enabled({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' })).toBe(false);
  });

  test('when the endpoint is not a URL, then start-up fails naming the variable', () => {
    expect(() => startTracing('svc', {}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(ConfigError);
    expect(() => startTracing('svc', {}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(
      /OTEL_EXPORTER_OTLP_ENDPOINT/,
    );
  });
});
