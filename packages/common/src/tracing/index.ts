/**
 * `@context-qa/common/tracing`: OpenTelemetry tracing and what the URLs in spans may show.
 * Its own subpath, apart from telemetry (logs, metrics): a service's instrument.ts starts
 * tracing before its app loads, so this loads neither node:http nor express, nor anything
 * that does (prom-client does): packages/common/test/system/tracing-load.test.ts.
 */
export * from './span-urls';
export * from './tracing';
