/** `@context-qa/common/dapr`: our own sidecar: its HTTP client, the SDK client, the state API, secrets. */
export * from './client';
export * from './secrets';
export * from './sidecar-http';
export * from './state-api';
