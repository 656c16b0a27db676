/**
 * `@context-qa/common/openapi`: the gateway's OpenAPI documents, generated from the
 * contract's zod schemas. Its own subpath: only the gateway loads the generator, at start.
 */
export * from './admin';
export * from './gen';
export * from './public';
