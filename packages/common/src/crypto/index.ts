/** `@context-qa/common/crypto`: digests for logs and constant-time comparison of secrets. */
export * from './hash';
