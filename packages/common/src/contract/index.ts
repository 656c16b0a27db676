/**
 * `@context-qa/common/contract`: everything gateway-service and ai-core-service
 * agree on: request and response shapes, header names, internal routes, the
 * spend report, tenants, the strategies and the calls each can make.
 */
export * from './headers';
export * from './outcomes';
export * from './requests';
export * from './responses';
export * from './routes';
export * from './spend';
export * from './strategies';
export * from './tenants';
