/**
 * The catalogue of models as data (MODELS), resolved against the per-provider
 * variables (BEDROCK_*, AZURE_OPENAI_*), which are also the default catalogue.
 * A new provider kind adds its entry schema to ENTRY and its factory to
 * adapters/models/registry.ts.
 */
import { LEGACY_MODEL_NAMES, type ModelName } from '@context-qa/common/contract';
import { z } from 'zod';

/** Plain HTTP stays on this host (the simulator in tests and `make dev`): 127.0.0.0/8, ::1, localhost. */
const isLoopback = (hostname: string): boolean =>
  hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);

/** A model endpoint gets API keys, signed requests and prompts: HTTPS, or HTTP to loopback only. */
const ENDPOINT_RULE = 'must be an https URL (plain http only to a loopback address: 127.0.0.0/8, ::1, localhost)';
export const modelEndpoint = z.url({ protocol: /^https?$/, error: ENDPOINT_RULE }).refine((u) => {
  const url = URL.parse(u); // zod still refines a value its URL check refused: that one is reported already
  return !url || url.protocol === 'https:' || isLoopback(url.hostname);
}, ENDPOINT_RULE);

export const azureEndpoint = modelEndpoint.refine(
  (u) => !/YOUR-/i.test(u),
  'still the manifest placeholder (YOUR-RESOURCE): set your Azure OpenAI resource',
);

const name = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'name must be 1–64 of a-z 0-9 . _ - (starting with a letter or digit)');

/** Each provider kind's entry; unset optional fields come from that kind's variables. */
const ENTRY = {
  bedrock: z.strictObject({
    name,
    provider: z.literal('bedrock'),
    modelId: z.string().min(1),
    region: z.string().min(1).optional(),
    endpoint: modelEndpoint.optional(),
  }),
  'azure-openai': z.strictObject({
    name,
    provider: z.literal('azure-openai'),
    deployment: z.string().min(1),
    endpoint: azureEndpoint.optional(),
    apiVersion: z.string().min(1).optional(),
    keySecret: z.string().min(1).optional(),
  }),
};
type Entry = { [K in keyof typeof ENTRY]: z.infer<(typeof ENTRY)[K]> }[keyof typeof ENTRY];
export type ProviderKind = keyof typeof ENTRY;

/** MODELS: a JSON array of entries; each problem is reported with the entry's index and name. */
export const modelsSchema = z.string().transform((text, ctx): Entry[] => {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `not valid JSON (${(err as Error).message})` });
    return z.NEVER;
  }
  if (!Array.isArray(raw) || raw.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'must be a non-empty JSON array of models' });
    return z.NEVER;
  }
  const entries: Entry[] = [];
  raw.forEach((item: unknown, i) => {
    const fields = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
    const label = `model ${i}${typeof fields['name'] === 'string' ? ` "${fields['name']}"` : ''}`;
    const provider = fields['provider'];
    if (typeof provider !== 'string' || !Object.hasOwn(ENTRY, provider)) {
      ctx.addIssue({
        code: 'custom',
        path: [i, 'provider'],
        message: `${label}: provider must be one of ${Object.keys(ENTRY).join(', ')}`,
      });
      return;
    }
    const parsed = ENTRY[provider as ProviderKind].safeParse(item);
    if (parsed.success) entries.push(parsed.data);
    else
      for (const issue of parsed.error.issues)
        ctx.addIssue({ code: 'custom', path: [i, ...issue.path], message: `${label}: ${issue.message}` });
  });
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.name)) ctx.addIssue({ code: 'custom', message: `model name "${e.name}" is used more than once` });
    seen.add(e.name);
  }
  return entries;
});

/** The variables the catalogue is resolved from (a subset of ai-core's Config). */
export interface ModelEnv {
  MODELS?: Entry[] | undefined;
  MODEL_PREFERENCE?: string[] | undefined;
  BEDROCK_REGION: string;
  BEDROCK_MODEL_ID: string;
  BEDROCK_ENDPOINT?: string | undefined;
  AZURE_OPENAI_ENDPOINT?: string | undefined;
  AZURE_OPENAI_DEPLOYMENT: string;
  AZURE_OPENAI_API_VERSION: string;
  AZURE_OPENAI_KEY_SECRET: string;
}

/** One configured model, every field resolved: what its provider factory gets. */
export type ModelSpec =
  | { name: ModelName; provider: 'bedrock'; modelId: string; region: string; endpoint?: string }
  | {
      name: ModelName;
      provider: 'azure-openai';
      deployment: string;
      endpoint: string;
      apiVersion: string;
      keySecret: string;
    };

/** What GET /v1/models may show: no endpoints, no secret names. */
export interface CatalogueEntry {
  name: ModelName;
  provider: ProviderKind;
  /** The Bedrock model id or the Azure deployment. */
  target: string;
}

const [LLAMA, GPT] = LEGACY_MODEL_NAMES;
const DEFAULT_PREFERENCE = [GPT, LLAMA];

const entries = (c: ModelEnv): Entry[] =>
  c.MODELS ?? [
    { name: LLAMA, provider: 'bedrock', modelId: c.BEDROCK_MODEL_ID },
    { name: GPT, provider: 'azure-openai', deployment: c.AZURE_OPENAI_DEPLOYMENT },
  ];

export function modelSpecs(c: ModelEnv): ModelSpec[] {
  return entries(c).map((e): ModelSpec => {
    if (e.provider === 'bedrock') {
      const endpoint = e.endpoint ?? c.BEDROCK_ENDPOINT;
      return {
        name: e.name,
        provider: e.provider,
        modelId: e.modelId,
        region: e.region ?? c.BEDROCK_REGION,
        ...(endpoint ? { endpoint } : {}),
      };
    }
    const endpoint = e.endpoint ?? c.AZURE_OPENAI_ENDPOINT;
    if (!endpoint) throw new Error(`model ${e.name}: no endpoint and AZURE_OPENAI_ENDPOINT is unset`);
    return {
      name: e.name,
      provider: e.provider,
      deployment: e.deployment,
      endpoint,
      apiVersion: e.apiVersion ?? c.AZURE_OPENAI_API_VERSION,
      keySecret: e.keySecret ?? c.AZURE_OPENAI_KEY_SECRET,
    };
  });
}

export const catalogue = (c: ModelEnv): CatalogueEntry[] =>
  modelSpecs(c).map((s) => ({
    name: s.name,
    provider: s.provider,
    target: s.provider === 'bedrock' ? s.modelId : s.deployment,
  }));

/** Try order: MODEL_PREFERENCE, else gpt4,llama4 for the default catalogue, else the MODELS order. */
export const modelPreference = (c: ModelEnv): ModelName[] =>
  c.MODEL_PREFERENCE ?? (c.MODELS ? c.MODELS.map((e) => e.name) : DEFAULT_PREFERENCE);

/** Start-up checks across variables: each names the variable to fix. */
export function modelIssues(c: ModelEnv): { path: string[]; message: string }[] {
  const issues: { path: string[]; message: string }[] = [];
  const all = entries(c);
  const homeless = all.filter((e) => e.provider === 'azure-openai' && !e.endpoint).map((e) => e.name);
  if (homeless.length && !c.AZURE_OPENAI_ENDPOINT) {
    issues.push({
      path: ['AZURE_OPENAI_ENDPOINT'],
      message: `required by ${homeless.join(', ')} (no endpoint of their own)`,
    });
  }
  const names = all.map((e) => e.name);
  const order = modelPreference(c);
  const problems = [
    ...order.filter((m) => !names.includes(m)).map((m) => `"${m}" is not a configured model`),
    ...names.filter((m) => !order.includes(m)).map((m) => `"${m}" is missing`),
    ...[...new Set(order.filter((m, i) => order.indexOf(m) !== i))].map((m) => `"${m}" is named more than once`),
  ];
  if (problems.length) {
    issues.push({
      path: ['MODEL_PREFERENCE'],
      message: `must name each model once (${names.join(', ')}): ${problems.join('; ')}`,
    });
  }
  return issues;
}
