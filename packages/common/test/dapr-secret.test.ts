/** daprSecret tells a deleted secret (undefined) from a failed read (throws), from the errors daprd and the SDK really produce. */
import type { DaprClient } from '@dapr/dapr';
import { daprSecret } from '@context-qa/common/dapr';

/** What @dapr/dapr 3.x throws for a non-2xx sidecar answer (HTTPClient.execute). */
const sdkError = (status: number, body: unknown) =>
  new Error(JSON.stringify({ error: 'x', error_msg: JSON.stringify(body), status }));

const reader = (get: () => Promise<unknown>) =>
  daprSecret({ secret: { get } } as unknown as DaprClient, 'secrets', 1000);

describe('daprSecret', () => {
  test('when the secret exists, then its value', async () => {
    expect(await reader(async () => ({ 'api-keys': '[]' }))('api-keys')).toBe('[]');
  });

  test.each([
    ['local.file', 'failed getting secret with key api-keys from secret store secrets: secret api-keys not found'],
    ['Kubernetes', 'failed getting secret with key api-keys from secret store secrets: secrets "api-keys" not found'],
  ])('when the %s store says the secret does not exist, then undefined', async (_store, message) => {
    const read = reader(async () => Promise.reject(sdkError(500, { errorCode: 'ERR_SECRET_GET', message })));
    expect(await read('api-keys')).toBeUndefined();
  });

  test.each([
    ['the sidecar is down', new TypeError('fetch failed')],
    [
      'the store failed',
      sdkError(500, {
        errorCode: 'ERR_SECRET_GET',
        message: 'failed getting secret with key api-keys from secret store secrets: context deadline exceeded',
      }),
    ],
    [
      'the store is unknown',
      sdkError(401, {
        errorCode: 'ERR_SECRET_STORE_NOT_FOUND',
        message: 'failed finding secret store with key nostore',
      }),
    ],
    [
      'access is denied',
      sdkError(403, {
        errorCode: 'ERR_SECRET_PERMISSION_DENIED',
        message: 'access denied by policy to get "api-keys" from "secrets"',
      }),
    ],
  ])('when %s, then the read throws', async (_what, err) => {
    await expect(reader(async () => Promise.reject(err))('api-keys')).rejects.toBe(err);
  });
});
