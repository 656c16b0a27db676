/** The contract between gateway and ai-core: what one side writes, the other reads back. */
import * as contract from '@context-qa/common/contract';
import {
  callTableOf,
  maxModelCalls,
  readSpendEvent,
  SPEND_SO_FAR,
  SPEND_TRAILER,
  spendEvent,
  STRATEGIES,
} from '@context-qa/common/contract';

describe('the spend report of a stream', () => {
  const spend = { gpt4: { input: 10, output: 3 } };

  test.each([
    ['so far', false, SPEND_SO_FAR],
    ['the trailer', true, SPEND_TRAILER],
  ])('when ai-core writes %s, then it is an SSE comment the gateway reads back', (_what, final, prefix) => {
    const event = spendEvent(spend, final);
    expect(event.startsWith(prefix)).toBe(true);
    expect(event.endsWith('\n\n')).toBe(true);
    expect(readSpendEvent(event.slice(0, -2))).toEqual({ spend, final });
  });

  test('when an event is no spend report, then undefined (the gateway relays it)', () => {
    expect(readSpendEvent('data: {"id":"x"}')).toBeUndefined();
    expect(readSpendEvent(': keep-alive')).toBeUndefined();
  });

  test('when a report is malformed, then it carries no spend (never a credit)', () => {
    expect(readSpendEvent(`${SPEND_TRAILER}{"gpt4":{"input":-1,"output":0}}`)).toEqual({
      spend: undefined,
      final: true,
    });
    expect(readSpendEvent(`${SPEND_SO_FAR}not json`)).toEqual({ spend: undefined, final: false });
  });
});

describe('the call table', () => {
  test("when ai-core lists each strategy's max_calls, then the gateway reads them by name", () => {
    const data = STRATEGIES.map((s) => ({
      id: s,
      object: 'model',
      created: 0,
      owned_by: 'context-qa',
      max_calls: maxModelCalls(s, 2),
    }));
    const table = callTableOf({ object: 'list', data });
    expect(Object.fromEntries(table!)).toEqual({ both: 2, fastest: 2, primary: 2, sequential: 2, fuse: 3 });
  });

  test('when entries are malformed, then they are left out; when the body is no list, then undefined', () => {
    const table = callTableOf({
      data: [
        { id: 'a', max_calls: 0 },
        { id: 'b', max_calls: 1.5 },
        { id: 3, max_calls: 2 },
        null,
        { id: 'ok', max_calls: 2 },
        { id: 'none' },
      ],
    });
    expect(Object.fromEntries(table!)).toEqual({ ok: 2 });
    expect(callTableOf({ data: 'x' })).toBeUndefined();
    expect(callTableOf(undefined)).toBeUndefined();
  });
});

test('every header name of the contract is lower case and its own', () => {
  const headers = Object.entries(contract).filter(([name]) => name.endsWith('_HEADER'));
  expect(headers.length).toBeGreaterThanOrEqual(8);
  const values = headers.map(([, v]) => v as string);
  for (const v of values) expect(v).toMatch(/^x-[a-z0-9-]+$/);
  expect(new Set(values).size).toBe(values.length);
});
