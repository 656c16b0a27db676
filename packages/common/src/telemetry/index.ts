/** `@context-qa/common/telemetry`: structured logs with the request's context, and Prometheus metrics. Tracing is `@context-qa/common/tracing`. */
export * from './logger';
export * from './metrics';
