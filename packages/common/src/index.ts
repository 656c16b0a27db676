export * from './config';
export * from './logger';
export * from './problem';
export * from './http';
export * from './access-log';
export * from './service';
export * from './contract';
export * from './spend';
export * from './validate';
export * from './metrics';
export * from './dapr';
export * from './secure';
export * from './deadline';
export * from './openai';
export * from './openai-http';
export * from './state-api';
export * from './responses';
// openapi.ts is imported by path (@context-qa/common/dist/openapi): only the gateway serves it,
// and ai-core need not load the generator at start.
export * from './sidecar-http';
