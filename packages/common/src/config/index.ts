/** `@context-qa/common/config`: a service's settings from the environment, parsed once at start. */
export * from './load';
export * from './service';
