/** The testkit's entry point: the stack, processes and helpers that integration tests and the bench use. */
export * from './backing';
export * from './daprd';
export * from './paths';
export * from './ports';
export * from './process';
export * from './stack';
export * from './services';
export * from './dev-keys';
export * from './sentry';
export * from './load';
export * from './otlp';
export * from './gateway-urls';
export * from './container';
export * from './pod-contract';
export * from './use-stack';
