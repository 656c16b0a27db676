/**
 * The model providers by kind. A new model of an existing kind is configuration
 * only (MODELS); a new kind is an adapter file, one line here and its entry
 * schema in models-config.ts.
 */
import type { ModelSpec, ProviderKind } from '../../models-config';
import type { ModelProvider } from '../../domain/ports';
import { azureOpenAIModel } from './azure-openai';
import { bedrockModel } from './bedrock';

export interface ProviderDeps {
  /** Reads a secret by name from the secret store; throws when it is missing. */
  secret(name: string): Promise<string>;
}

type Factory<K extends ProviderKind> = (spec: Extract<ModelSpec, { provider: K }>, deps: ProviderDeps) => ModelProvider;

export const PROVIDERS: { [K in ProviderKind]: Factory<K> } = {
  bedrock: (spec) => bedrockModel(spec),
  'azure-openai': (spec, deps) => azureOpenAIModel({ ...spec, apiKey: () => deps.secret(spec.keySecret) }),
};

export function createProvider(spec: ModelSpec, deps: ProviderDeps): ModelProvider {
  return PROVIDERS[spec.provider](spec as never, deps);
}
