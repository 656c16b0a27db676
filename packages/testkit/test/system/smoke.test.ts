/**
 * Smoke test of the Dapr runtime built from source: real daprd sidecars, real
 * Redis and dynalite, checked with their own clients. No Dapr mock anywhere.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CommunicationProtocolEnum, DaprClient, LogLevel } from '@dapr/dapr';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { createClient } from 'redis';
import { CONTEXT_TABLE, dynamoClient, useStack } from '../../src';

describe('the Dapr runtime built from source, with real Redis and dynalite', () => {
  let echo: http.Server;
  let dapr: DaprClient;
  const seen: { method?: string; url?: string; body?: string }[] = [];

  afterAll(() => dapr?.stop()); // before the stack stops its sidecar: hooks run in the order declared
  const stack = useStack(async () => {
    // A plain HTTP app standing in for ai-core: records what its sidecar delivers.
    echo = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, body });
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ echoed: body, path: req.url }));
      });
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    return {
      apps: [
        { appId: 'ai-core-service', appPort: (echo.address() as AddressInfo).port },
        { appId: 'gateway-service', noApp: true },
      ],
      secrets: { 'smoke-secret': 's3cr3t' },
      simulator: false,
    };
  });
  beforeAll(() => {
    const car = stack.sidecar('ai-core-service');
    dapr = new DaprClient({
      daprHost: '127.0.0.1',
      daprPort: String(car.ports.http),
      communicationProtocol: CommunicationProtocolEnum.HTTP,
      logger: { level: LogLevel.Error },
    });
  });
  afterAll(() => echo?.close());

  test('when state is saved in context-cache, then it is a bare-key hash in Redis until deleted', async () => {
    const redis = createClient({ url: `redis://127.0.0.1:${stack.redisPort}` });
    await redis.connect();
    try {
      await dapr.state.save('context-cache', [{ key: 'smoke:redis', value: { text: 'from redis' } }]);
      expect(await dapr.state.get('context-cache', 'smoke:redis')).toEqual({ text: 'from redis' });
      // keyPrefix none: no "<app-id>||" in front, so other writers can share keys.
      expect(JSON.parse((await redis.hGet('smoke:redis', 'data'))!)).toEqual({ text: 'from redis' });

      await dapr.state.delete('context-cache', 'smoke:redis');
      expect(await dapr.state.get('context-cache', 'smoke:redis')).toBe('');
      expect(await redis.exists('smoke:redis')).toBe(0);
    } finally {
      await redis.quit();
    }
  });

  test('when state is saved in context-store, then dynalite holds the item until deleted', async () => {
    const ddb = dynamoClient(stack.dynamoPort);
    const item = async () =>
      (await ddb.send(new GetItemCommand({ TableName: CONTEXT_TABLE, Key: { key: { S: 'smoke:dynamo' } } }))).Item;
    try {
      await dapr.state.save('context-store', [{ key: 'smoke:dynamo', value: { text: 'from dynamo' } }]);
      expect(await dapr.state.get('context-store', 'smoke:dynamo')).toEqual({ text: 'from dynamo' });
      const stored = await item();
      expect(JSON.parse(stored?.['value']?.S ?? 'null')).toEqual({ text: 'from dynamo' });
      expect(stored?.['etag']?.S).toBeTruthy();

      await dapr.state.delete('context-store', 'smoke:dynamo');
      expect(await dapr.state.get('context-store', 'smoke:dynamo')).toBe('');
      expect(await item()).toBeUndefined();
    } finally {
      ddb.destroy();
    }
  });

  test('when a secret is read, then the local file secret store answers it', async () => {
    expect(await dapr.secret.get('secrets', 'smoke-secret')).toEqual({ 'smoke-secret': 's3cr3t' });
  });

  test('when one sidecar invokes another app by id, then the app receives the call', async () => {
    const caller = stack.sidecar('gateway-service');
    const before = seen.length;
    const res = await fetch(`${caller.httpUrl}/v1.0/invoke/ai-core-service/method/echo?n=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ hello: 'ai-core' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ echoed: '{"hello":"ai-core"}', path: '/echo?n=1' });
    expect(seen.slice(before)).toEqual([{ method: 'POST', url: '/echo?n=1', body: '{"hello":"ai-core"}' }]);
  });
});
