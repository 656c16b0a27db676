/**
 * The model providers by name. Adding a provider is a new adapter file and one
 * entry here; nothing else in the service changes.
 */
import type { ModelName } from '@context-qa/common';
import type { ModelProvider } from '../../domain/ports';
import { azureGpt4, type AzureOptions } from './azure-openai';
import { bedrockLlama, type BedrockOptions } from './bedrock';

export interface ProviderSettings {
  llama4: BedrockOptions;
  gpt4: AzureOptions;
}

export const PROVIDERS: { [M in ModelName]: (settings: ProviderSettings[M]) => ModelProvider } = {
  llama4: bedrockLlama,
  gpt4: azureGpt4,
};
