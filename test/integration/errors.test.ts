/**
 * Public errors carry stable codes, never an upstream's words: a secret read
 * that fails (the Azure key is missing from the secret store) and a Bedrock
 * AccessDeniedException naming an ARN and an account id must not reach clients.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Problem } from '@context-qa/common/http';
import { DEV_KEYS, devSecrets, serviceApps, useStack } from '@context-qa/testkit';

const LLAMA = 'us.meta.llama4-maverick-17b-instruct-v1:0';
const UPSTREAM_WORDS = /arn:|123456789012|azure-openai-api-key|secret|AccessDenied|not authorized|ERR_/i;

describe('errors that tell clients what they need and nothing more', () => {
  const stack = useStack(() => {
    const { ['azure-openai-api-key']: _dropped, ...secrets } = devSecrets();
    return { secrets, apps: serviceApps({ aiCoreEnv: { LOG_LEVEL: 'warn' }, gatewayEnv: { LOG_LEVEL: 'warn' } }) };
  });

  beforeAll(async () => {
    await stack.simulator.setFault(LLAMA, { failRate: 1, error: 'access-denied' });
  });

  test.each(['/v1/prompt', '/prompt'])(
    'when both models fail on credentials, then %s answers 503 with codes only',
    async (route) => {
      const res = await fetch(`${stack.appUrl('gateway-service')}${route}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${DEV_KEYS.ask}`, 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'who am I?' }),
      });
      const text = await res.text();
      expect(res.status).toBe(503);
      const body = JSON.parse(text) as Problem;
      expect(body).toMatchObject({
        code: 'no_model_answered',
        requestId: res.headers.get('x-request-id'),
        models: {
          llama4: { status: 'error', code: 'unauthorized' },
          gpt4: { status: 'error', code: 'upstream_error' },
        },
      });
      expect(text).not.toMatch(UPSTREAM_WORDS);
    },
  );

  test("when the causes are needed, then they are in ai-core's log", async () => {
    const log = readFileSync(path.join(stack.logDir, 'ai-core-service.log'), 'utf8');
    expect(log).toMatch(/AccessDeniedException/);
    expect(log).toMatch(/azure-openai-api-key/);
  });
});
