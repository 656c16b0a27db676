/** URLs as our spans carry them: route patterns, never a context key or a prompt. */
import { spanPath, spanPathAndQuery, spanUrl, spanUrlOfRequest } from '@context-qa/common/tracing';

describe('span URLs', () => {
  test('when a state call names a key, then the span shows the store and {key}', () => {
    expect(spanPath('/v1.0/state/context-cache/reports%2Fq3')).toBe('/v1.0/state/context-cache/{key}');
    expect(spanPath('/v1.0/state/answer-cache/sha256%3Aabc')).toBe('/v1.0/state/answer-cache/{key}');
    expect(spanPath('/v1.0/state/context-store')).toBe('/v1.0/state/context-store'); // a bulk save: no key in the path
  });

  test("when the gateway's context route is called, then the key segment is {key}", () => {
    expect(spanPath('/v1/context/handbook')).toBe('/v1/context/{key}');
    expect(spanPath('/v1/prompt')).toBe('/v1/prompt');
  });

  test('when a key, prompt or signature is in the query, then its value is redacted and the rest kept', () => {
    expect(spanPathAndQuery('/v1.0/invoke/ai-core-service/method/v1/context?key=reports%2Fq3')).toBe(
      '/v1.0/invoke/ai-core-service/method/v1/context?key=REDACTED',
    );
    expect(spanPathAndQuery('/prompt?prompt=secret&strategy=both')).toBe('/prompt?prompt=REDACTED&strategy=both');
  });

  test('when an absolute URL is made safe, then origin stays and the key goes', () => {
    expect(spanUrl('http://127.0.0.1:3500/v1.0/state/context-cache/reports%2Fq3?consistency=strong')).toBe(
      'http://127.0.0.1:3500/v1.0/state/context-cache/{key}?consistency=strong',
    );
    expect(
      spanUrlOfRequest({
        protocol: 'http:',
        hostname: '127.0.0.1',
        port: 3500,
        path: '/v1.0/state/context-store/handbook',
      }),
    ).toBe('http://127.0.0.1:3500/v1.0/state/context-store/{key}');
  });
});
