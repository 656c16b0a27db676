/**
 * Why a model gave no answer: a stable code per outcome, with a fixed message.
 * Upstream messages (which can carry ARNs, account ids, secret names, URLs) go
 * to the logs only, never into a response.
 */
export const MODEL_ERROR_CODES = {
  timeout: 'the model did not answer within its deadline',
  rate_limited: 'the model provider throttled the call',
  unauthorized: 'the model provider refused our credentials',
  bad_request: 'the model provider rejected the request',
  upstream_error: 'the model provider failed',
  circuit_open: 'calls to this model are paused after repeated failures',
  overloaded: 'too many calls to this model are in flight',
  cancelled: 'the call was stopped before it finished',
  not_needed: 'another model answered first',
} as const;
export type ModelErrorCode = keyof typeof MODEL_ERROR_CODES;
