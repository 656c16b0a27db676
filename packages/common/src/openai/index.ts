/** `@context-qa/common/openai`: the OpenAI Chat Completions wire format we accept and answer. */
export * from './chat';
export * from './responses';
