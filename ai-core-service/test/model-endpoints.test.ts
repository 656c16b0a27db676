/** Model endpoints get API keys, signed requests and prompts: HTTPS, or plain HTTP on this host only. */
import { loadConfig } from '@context-qa/common/config';
import { configSchema } from '../src/config';

const HTTPS = 'https://example.openai.azure.com';
const load = (env: Record<string, string>) => loadConfig(configSchema, { AZURE_OPENAI_ENDPOINT: HTTPS, ...env });
const models = (endpoint: string) =>
  JSON.stringify([
    { name: 'llama4', provider: 'bedrock', modelId: 'm', endpoint },
    { name: 'gpt4o', provider: 'azure-openai', deployment: 'd', endpoint },
  ]);

describe('model endpoints', () => {
  test.each([
    'http://127.0.0.1:4010',
    'http://127.8.9.10',
    'http://localhost:4010',
    'http://[::1]:4010',
    'https://bedrock.example.com',
  ])('when an endpoint is %s, then it is accepted', (endpoint) => {
    expect(() =>
      load({ BEDROCK_ENDPOINT: endpoint, AZURE_OPENAI_ENDPOINT: endpoint, MODELS: models(endpoint) }),
    ).not.toThrow();
  });

  test.each([
    ['BEDROCK_ENDPOINT', { BEDROCK_ENDPOINT: 'http://bedrock.example.com' }],
    ['AZURE_OPENAI_ENDPOINT', { AZURE_OPENAI_ENDPOINT: 'http://10.0.0.5:4010' }],
    ['MODELS', { MODELS: models('http://sim.internal:4010') }],
    ['BEDROCK_ENDPOINT', { BEDROCK_ENDPOINT: 'http://localhost.evil.example' }],
    ['AZURE_OPENAI_ENDPOINT', { AZURE_OPENAI_ENDPOINT: 'ftp://127.0.0.1' }],
  ])('when %s is plain http off this host (or not http at all), then start is refused naming it', (variable, env) => {
    expect(() => load(env)).toThrow(new RegExp(`${variable}(\\.\\d+\\.endpoint)?: .*https URL`));
  });
});

test('when an endpoint is not a URL at all, then start is refused naming the variable (the https check does not throw)', () => {
  expect(() => load({ AZURE_OPENAI_ENDPOINT: 'not a url' })).toThrow(/AZURE_OPENAI_ENDPOINT: must be an https URL/);
});
