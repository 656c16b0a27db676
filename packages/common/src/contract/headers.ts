/**
 * Header names the gateway and ai-core agree on (and, where noted, what a
 * public caller sends or sees). One place, so neither side spells one by hand.
 */

/** Both directions and every response: the request id (a sane caller-supplied one is kept, else one is made). */
export const REQUEST_ID_HEADER = 'x-request-id';
/** gateway → ai-core: the request's remaining budget in ms (relative, so clock skew between pods does not matter). */
export const REMAINING_HEADER = 'x-request-timeout-ms';
/** Request header (public chat route, and gateway → ai-core): the context key of a chat request. */
export const CONTEXT_KEY_HEADER = 'x-context-key';
/** Request header: read (or, all-tenants admin, manage) another tenant's context; validated by the gateway only. */
export const REQUESTED_TENANT_HEADER = 'x-context-tenant';
/** gateway → ai-core only: the tenant the gateway decided from the authenticated key; never taken from a caller. */
export const TENANT_HEADER = 'x-context-qa-tenant';
/** Response header (both /v1/prompt and /v1/chat/completions) carrying the AnswerCacheStatus. */
export const ANSWER_CACHE_HEADER = 'x-context-qa-cache';
/** Response header naming the model that answered (also each chunk's `model`). */
export const ANSWERED_BY_HEADER = 'x-context-qa-model';
/** ai-core → gateway, on every whole answer (a success, its problems, a cache hit: `{}`): what the request spent (spend.ts). */
export const SPEND_HEADER = 'x-context-qa-spend';
