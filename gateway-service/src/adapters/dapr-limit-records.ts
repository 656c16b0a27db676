/**
 * The shared limit records in a Dapr state store (`rate-limits`), one per API
 * key, moved by compare-and-set (limit-records-cas.ts) through the sidecar's
 * state API: ETags with first-write concurrency, a TTL per write. Every state
 * store supports these (Redis, the in-memory store, DynamoDB…); Dapr's state
 * API has no atomic increment.
 */
import { type SidecarConfig, stateApi } from '@context-qa/common/dapr';
import { casRecords } from './limit-records-cas';

export function daprLimitRecords(sidecar: SidecarConfig, storeName: string, timeoutMs: number) {
  return casRecords(stateApi(sidecar, storeName, timeoutMs), storeName);
}
