/** Wires config to adapters, domain and HTTP; start() returns the bound ports and a stop(). */
import {
  createDaprClient,
  daprSecret,
  MODEL_NAMES,
  Readiness,
  serveApp,
  sidecarReady,
  type Logger,
  type ModelName,
} from '@context-qa/common';
import { daprTextStore } from './adapters/dapr-state';
import { GuardedModel } from './adapters/models/guarded';
import { PROVIDERS } from './adapters/models/registry';
import { createApp } from './app';
import type { Config } from './config';
import { ask } from './domain/ask';
import { contextAdmin } from './domain/context-admin';
import { aiCoreMetrics } from './metrics';

export async function start(config: Config, logger: Logger) {
  const dapr = createDaprClient(config);
  const metrics = aiCoreMetrics();
  const cache = daprTextStore(dapr, config.CACHE_STORE, config.CACHE_TIMEOUT_MS);
  const store = daprTextStore(dapr, config.CONTEXT_STORE, config.STORE_TIMEOUT_MS);
  const secret = daprSecret(dapr, config.SECRET_STORE, config.STORE_TIMEOUT_MS);

  const breaker = {
    timeoutMs: config.MODEL_TIMEOUT_MS,
    errorThresholdPercentage: config.BREAKER_ERROR_THRESHOLD_PERCENT,
    resetTimeoutMs: config.BREAKER_RESET_TIMEOUT_MS,
    volumeThreshold: config.BREAKER_VOLUME_THRESHOLD,
    rollingCountTimeoutMs: config.BREAKER_ROLLING_WINDOW_MS,
  };
  const providers = {
    llama4: PROVIDERS.llama4({
      region: config.BEDROCK_REGION,
      modelId: config.BEDROCK_MODEL_ID,
      ...(config.BEDROCK_ENDPOINT ? { endpoint: config.BEDROCK_ENDPOINT } : {}),
    }),
    gpt4: PROVIDERS.gpt4({
      endpoint: config.AZURE_OPENAI_ENDPOINT,
      deployment: config.AZURE_OPENAI_DEPLOYMENT,
      apiVersion: config.AZURE_OPENAI_API_VERSION,
      apiKey: async () => {
        const key = await secret(config.AZURE_OPENAI_KEY_SECRET);
        if (!key) throw new Error(`secret ${config.AZURE_OPENAI_KEY_SECRET} is missing from ${config.SECRET_STORE}`);
        return key;
      },
    }),
  };
  const guarded = Object.fromEntries(
    MODEL_NAMES.map((m) => [m, new GuardedModel(providers[m], breaker, metrics.models)]),
  ) as Record<ModelName, GuardedModel>;

  const context = { cache, store, cacheTtlSeconds: config.CACHE_TTL_SECONDS, observe: metrics.context };
  const readiness = new Readiness({ sidecar: () => sidecarReady(config) });
  const app = createApp({
    logger,
    readiness,
    bodyLimit: config.BODY_LIMIT,
    appToken: config.APP_API_TOKEN,
    httpMiddleware: metrics.httpMiddleware,
    contexts: contextAdmin(context),
    ask: (req, requestId) =>
      ask(req, requestId, {
        context,
        preference: config.MODEL_PREFERENCE,
        contextBudgetChars: config.CONTEXT_BUDGET_CHARS,
        defaultMaxTokens: config.DEFAULT_MAX_TOKENS,
        runModel: (m, r, signal) => guarded[m].run(r, signal),
      }),
  });
  return serveApp(app, {
    config,
    registry: metrics.registry,
    readiness,
    cleanup: async () => {
      Object.values(guarded).forEach((g) => g.shutdown());
      await dapr.stop();
    },
  });
}
