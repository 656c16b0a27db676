import { requestAttributes } from '../src/adapters/models/model-span';
import { FakeModel } from './fakes';

/** A provider as the Bedrock and Azure adapters name themselves in traces. */
const served = (provider: string) => Object.assign(new FakeModel('m'), { telemetry: { provider, model: 'model-id' } });
const req = { system: 's', user: 'u', maxTokens: 10, temperature: 1.5, topP: 0.9 };

describe("a model call's span records the sampling parameters as sent", () => {
  test("when Bedrock gets a temperature above its range, then the span records the clamped value it was sent, not the caller's", () => {
    expect(requestAttributes(served('aws.bedrock'), req)).toMatchObject({
      'gen_ai.request.temperature': 1,
      'gen_ai.request.top_p': 0.9,
    }); // before: 1.5
  });

  test('when Azure OpenAI takes the value as is, then the span records it unchanged', () => {
    expect(requestAttributes(served('azure.ai.openai'), req)).toMatchObject({
      'gen_ai.request.temperature': 1.5,
      'gen_ai.request.top_p': 0.9,
    });
  });

  test('when the request sets no sampling, then the span has no sampling attributes', () => {
    const attributes = requestAttributes(served('aws.bedrock'), { system: 's', user: 'u', maxTokens: 10 });
    expect(attributes).not.toHaveProperty('gen_ai.request.temperature');
    expect(attributes).not.toHaveProperty('gen_ai.request.top_p');
  });
});
