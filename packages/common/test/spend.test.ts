import { estimateTokens, maxModelCalls, parseSpend, spendTotal } from '@context-qa/common/contract';

describe('spend', () => {
  test('when text is not ASCII, then each character is estimated as a token, not a quarter of one', () => {
    expect(estimateTokens('abcdefgh')).toBe(2);
    expect(estimateTokens('日本語の質問')).toBe(6);
    expect(estimateTokens('naïve')).toBe(2); // "nave" a token, "ï" one more
    expect(estimateTokens('')).toBe(0);
  });

  test('when a spend header is malformed or negative, then it is no spend at all (never a credit)', () => {
    expect(parseSpend('{"gpt4":{"input":10,"output":5}}')).toEqual({ gpt4: { input: 10, output: 5 } });
    for (const bad of [
      '{"gpt4":{"input":-1,"output":5}}',
      '{"gpt4":{"input":1e400,"output":5}}',
      '{"gpt4":{"input":1.5,"output":5}}',
      'not json',
      '[]',
      undefined,
    ]) {
      expect(parseSpend(bad)).toBeUndefined();
    }
    expect(spendTotal({ gpt4: { input: 10, output: 5 }, llama4: { input: 7, output: 3 } })).toBe(25);
  });

  test('when fuse runs over n models, then it may make one call more than the other strategies', () => {
    expect(maxModelCalls('both', 3)).toBe(3);
    expect(maxModelCalls('primary', 3)).toBe(3);
    expect(maxModelCalls('fuse', 2)).toBe(3);
  });
});
