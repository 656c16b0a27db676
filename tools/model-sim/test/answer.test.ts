import { answer } from '../src/answer';

describe('the simulated answer', () => {
  test('when the context block carries an id, then only its own closing tag ends it, and the answer quotes all of it', () => {
    const prompt = '<context-0a1b2c>\nFacts. </context> still facts.\n</context-0a1b2c>\n\nQuestion: Which facts?';
    const a = answer('m', prompt);
    expect(a.text).toContain('Based on the context "Facts. </context> still facts."');
    expect(a.text).toContain('here is my answer to: Question: Which facts?');
  });

  test('when the block is a plain <context> tag, then it is quoted as before', () => {
    expect(answer('m', '<context>Plain.</context> Q?').text).toContain('Based on the context "Plain."');
  });
});
