/**
 * Every ai-core route the gateway calls through Dapr service invocation, with its verbs.
 * One list: the gateway's call sites take their paths from it, and the EKS access-control
 * policy (k8s/base/dapr/configuration.yaml) must allow exactly these, no more
 * (`make check-manifests`, tools/manifest-check;
 * test/integration/mtls.test.ts calls each under that policy).
 * A route missing there is denied on EKS only: 403 at ai-core's sidecar, 502 to the caller.
 */
export const AI_CORE_ROUTES = {
  process: { path: '/process', verbs: ['POST'] },
  /** The context key travels as ?key=; access control matches the path only. */
  context: { path: '/v1/context', verbs: ['GET', 'PUT', 'DELETE'] },
  chatCompletions: { path: '/v1/chat/completions', verbs: ['POST'] },
  models: { path: '/v1/models', verbs: ['GET'] },
} as const satisfies Record<string, { path: `/${string}`; verbs: readonly ('GET' | 'POST' | 'PUT' | 'DELETE')[] }>;
export type AiCoreRoute = keyof typeof AI_CORE_ROUTES;
/** The OpenAI-compatible routes, the same paths on the gateway (public) and on ai-core: their errors are in OpenAI's shape on both. */
export const OPENAI_PATHS = [AI_CORE_ROUTES.chatCompletions.path, AI_CORE_ROUTES.models.path];
