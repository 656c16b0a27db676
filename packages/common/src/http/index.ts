/**
 * `@context-qa/common/http`: the express scaffolding every service stands on: the base app
 * (request id, security headers, access log), routes with 404/405, problem+json and
 * OpenAI-shaped errors, validation, listeners, readiness and the process lifecycle.
 */
export * from './access-log';
export * from './app';
export * from './lifecycle';
export * from './listen';
export * from './openai-errors';
export * from './problem';
export * from './readiness';
export * from './request-id';
export * from './route-table';
export * from './security-headers';
export * from './serve';
export * from './validate';
