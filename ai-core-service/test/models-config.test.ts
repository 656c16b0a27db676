/** Models are data: MODELS and MODEL_PREFERENCE, resolved, refused, and a configured model answering. */
import { ConfigError, loadConfig } from '@context-qa/common/config';
import { useSimulator } from '@context-qa/model-sim';
import { createProvider } from '../src/adapters/models/registry';
import { catalogue, configSchema, modelPreference, modelSpecs } from '../src/config';

const SIM = 'http://127.0.0.1:4010';
const load = (env: Record<string, string>) => loadConfig(configSchema, { AZURE_OPENAI_ENDPOINT: SIM, ...env });
const refusal = (env: Record<string, string>) => {
  try {
    load(env);
  } catch (err) {
    return err as Error;
  }
  return undefined;
};
const models = (...entries: object[]) => ({ MODELS: JSON.stringify(entries) });

describe('model catalogue configuration', () => {
  test('when MODELS is unset, then the catalogue is llama4 on Bedrock and gpt4 on Azure from the single-model variables', () => {
    const config = load({ BEDROCK_ENDPOINT: SIM });
    expect(catalogue(config)).toEqual([
      { name: 'llama4', provider: 'bedrock', target: 'us.meta.llama4-maverick-17b-instruct-v1:0' },
      { name: 'gpt4', provider: 'azure-openai', target: 'gpt-4' },
    ]);
    expect(modelSpecs(config)).toEqual([
      {
        name: 'llama4',
        provider: 'bedrock',
        modelId: 'us.meta.llama4-maverick-17b-instruct-v1:0',
        region: 'us-east-1',
        endpoint: SIM,
      },
      {
        name: 'gpt4',
        provider: 'azure-openai',
        deployment: 'gpt-4',
        endpoint: SIM,
        apiVersion: '2024-10-21',
        keySecret: 'azure-openai-api-key',
      },
    ]);
    expect(modelPreference(config)).toEqual(['gpt4', 'llama4']);
  });

  test('when MODELS lists models, then unset fields come from the variables and the preference defaults to their order', () => {
    const config = load({
      ...models(
        { name: 'gpt4o', provider: 'azure-openai', deployment: 'gpt-4o', keySecret: 'gpt4o-key' },
        { name: 'scout', provider: 'bedrock', modelId: 'us.meta.llama4-scout-17b-instruct-v1:0', region: 'us-west-2' },
      ),
      AZURE_OPENAI_API_VERSION: '2025-04-01-preview',
    });
    expect(modelSpecs(config)).toEqual([
      {
        name: 'gpt4o',
        provider: 'azure-openai',
        deployment: 'gpt-4o',
        endpoint: SIM,
        apiVersion: '2025-04-01-preview',
        keySecret: 'gpt4o-key',
      },
      { name: 'scout', provider: 'bedrock', modelId: 'us.meta.llama4-scout-17b-instruct-v1:0', region: 'us-west-2' },
    ]);
    expect(modelPreference(config)).toEqual(['gpt4o', 'scout']);
    expect(
      modelPreference(
        load({
          ...models({ name: 'a', provider: 'bedrock', modelId: 'm' }, { name: 'b', provider: 'bedrock', modelId: 'm' }),
          MODEL_PREFERENCE: 'b, a',
        }),
      ),
    ).toEqual(['b', 'a']);
  });

  test('when only Bedrock models are configured, then AZURE_OPENAI_ENDPOINT is not needed', () => {
    expect(() => loadConfig(configSchema, models({ name: 'scout', provider: 'bedrock', modelId: 'x' }))).not.toThrow();
  });

  test.each([
    [{ MODELS: 'llama4,gpt4' }, /MODELS: not valid JSON/],
    [{ MODELS: '[]' }, /MODELS: must be a non-empty JSON array/],
    [
      models({ name: 'x', provider: 'vertex' }),
      /MODELS\.0\.provider: model 0 "x": provider must be one of bedrock, azure-openai/,
    ],
    [
      models({ name: 'llama4', provider: 'bedrock', modelId: 'm' }, { name: 'gpt4o', provider: 'azure-openai' }),
      /MODELS\.1\.deployment: model 1 "gpt4o": /,
    ],
    [
      models({ name: 'GPT 4', provider: 'azure-openai', deployment: 'd' }),
      /MODELS\.0\.name: model 0 "GPT 4": name must be/,
    ],
    [models({ name: 'a', provider: 'bedrock', modelId: 'm', deployment: 'd' }), /MODELS\.0: model 0 "a": .*deployment/],
    [
      models({ name: 'a', provider: 'bedrock', modelId: 'm' }, { name: 'a', provider: 'bedrock', modelId: 'n' }),
      /MODELS: model name "a" is used more than once/,
    ],
    [{ MODEL_PREFERENCE: 'gpt4' }, /MODEL_PREFERENCE: must name each model once \(llama4, gpt4\): "llama4" is missing/],
    [{ MODEL_PREFERENCE: 'gpt4,llama4,claude' }, /MODEL_PREFERENCE: .*"claude" is not a configured model/],
    [{ MODEL_PREFERENCE: 'gpt4,gpt4,llama4' }, /MODEL_PREFERENCE: .*"gpt4" is named more than once/],
  ])('when %o, then start is refused with %p', (env, message) => {
    const err = refusal(env);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err?.message).toMatch(message);
  });

  test('when an Azure model has no endpoint and AZURE_OPENAI_ENDPOINT is unset, then start is refused naming the variable and the model', () => {
    let err: unknown;
    try {
      loadConfig(configSchema, models({ name: 'gpt4o', provider: 'azure-openai', deployment: 'gpt-4o' }));
    } catch (e) {
      err = e;
    }
    expect((err as Error).message).toMatch(/AZURE_OPENAI_ENDPOINT: required by gpt4o/);
  });
});

describe('a model added by configuration only', () => {
  const clouds = useSimulator();

  test('when MODELS adds a second Azure deployment and Bedrock Scout, then each builds and answers as itself, the Azure one with its own key', async () => {
    const config = loadConfig(configSchema, {
      AZURE_OPENAI_ENDPOINT: clouds.sim.url,
      BEDROCK_ENDPOINT: clouds.sim.url,
      ...models(
        { name: 'llama4', provider: 'bedrock', modelId: 'us.meta.llama4-maverick-17b-instruct-v1:0' },
        { name: 'gpt4', provider: 'azure-openai', deployment: 'gpt-4' },
        { name: 'gpt4o', provider: 'azure-openai', deployment: 'gpt-4o', keySecret: 'gpt4o-key' },
        { name: 'scout', provider: 'bedrock', modelId: 'us.meta.llama4-scout-17b-instruct-v1:0' },
      ),
    });
    const secretsRead: string[] = [];
    const deps = { secret: async (name: string) => (secretsRead.push(name), `key-of-${name}`) };
    const providers = new Map(modelSpecs(config).map((s) => [s.name, createProvider(s, deps)]));
    expect([...providers.keys()]).toEqual(['llama4', 'gpt4', 'gpt4o', 'scout']);
    const req = { system: 'Be brief.', user: 'Which model are you?', maxTokens: 50 };
    const signal = new AbortController().signal;
    expect((await providers.get('gpt4o')!.generate(req, signal)).text).toMatch(/^\[gpt-4o\] /);
    expect((await providers.get('scout')!.generate(req, signal)).text).toMatch(
      /^\[us\.meta\.llama4-scout-17b-instruct-v1:0\] /,
    );
    expect(providers.get('gpt4o')!.name).toBe('gpt4o');
    expect(secretsRead).toEqual(['gpt4o-key']);
  });
});
