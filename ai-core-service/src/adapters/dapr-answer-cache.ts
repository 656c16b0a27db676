/**
 * The answer cache (`answer-cache` state store) through the sidecar's state
 * API, like the context stores (dapr-state.ts). Keys are SHA-256 hex digests,
 * values the answer as JSON, each written with a per-item TTL
 * (`ttlInSeconds`). No etags: an entry's content is fixed by its key, so two
 * writers of one key write the same answer and the last one wins harmlessly.
 */
import { type SidecarConfig, stateApi } from '@context-qa/common/dapr';
import type { AnswerStore } from '../domain/ports';

export function daprAnswerStore(sidecar: SidecarConfig, storeName: string, timeoutMs: number): AnswerStore {
  const api = stateApi(sidecar, storeName, timeoutMs);
  return {
    name: storeName,
    async get(key, signal) {
      return (await api.get(key, undefined, signal))?.value;
    },
    async set(key, value, ttlSeconds) {
      await api.save(key, value, { ttlSeconds });
    },
  };
}
