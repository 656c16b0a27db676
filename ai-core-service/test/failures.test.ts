/** The one outcome table of the answer routes: every row, and both routes rendering it alike. */
import request from 'supertest';
import { type ModelOutcome, TENANT_HEADER } from '@context-qa/common/contract';
import { Deadline, DeadlineExceeded } from '@context-qa/common/deadline';
import { refused } from '../src/adapters/models/guarded';
import { NoModelAnswered, UnknownModel, UnsupportedRouting } from '../src/domain/outcomes';
import { answerFailure } from '../src/entry-points/failures';
import { TENANT, testApp } from './fakes';

const both = (a: ModelOutcome, b: ModelOutcome) => ({ gpt4: a, llama4: b });
/** Out of time: common's DeadlineExceeded, the models' outcomes as its cause (as domain/outcomes.ts `noAnswer` throws it). */
const outOfTime = (models: Record<string, ModelOutcome>) =>
  new DeadlineExceeded('the request deadline passed before a model answered', { cause: new NoModelAnswered(models) });
const live = () => new Deadline(5000);
const gone = () => {
  const d = new Deadline(5000);
  d.stop('client_gone');
  return d;
};

/** [what happened, the error, the deadline, status, code, Retry-After]. */
const ROWS: [string, Error, () => Deadline, number, string, string | undefined][] = [
  ['an unknown model', new UnknownModel('no such model'), live, 404, 'model_not_found', undefined],
  ['a routing the route cannot do', new UnsupportedRouting('cannot stream'), live, 400, 'invalid_request', undefined],
  [
    'the caller gone',
    outOfTime(both(refused('cancelled'), refused('cancelled'))),
    gone,
    499,
    'client_closed',
    undefined,
  ],
  [
    'the deadline passed',
    outOfTime(both(refused('timeout'), refused('cancelled'))),
    live,
    504,
    'deadline_exceeded',
    undefined,
  ],
  [
    'every model rejected the request',
    new NoModelAnswered(both(refused('bad_request'), refused('bad_request'))),
    live,
    400,
    'model_rejected_request',
    undefined,
  ],
  [
    'every model throttling',
    new NoModelAnswered(both(refused('rate_limited'), refused('rate_limited'))),
    live,
    429,
    'rate_limited',
    '5',
  ],
  [
    'a breaker open, the other failing',
    new NoModelAnswered(both(refused('circuit_open'), refused('upstream_error'))),
    live,
    503,
    'no_model_answered',
    '5',
  ],
  [
    'both failing',
    new NoModelAnswered(both(refused('timeout', 9), refused('upstream_error'))),
    live,
    503,
    'no_model_answered',
    undefined,
  ],
];

test.each(ROWS)(
  'when %s, then the table gives its status, code and Retry-After',
  (_what, err, deadline, status, code, retryAfter) => {
    const failure = answerFailure(err, deadline())!;
    expect([
      failure.status,
      failure.code,
      failure.retryAfterS === undefined ? undefined : String(failure.retryAfterS),
    ]).toEqual([status, code, retryAfter]);
  },
);

test('when the error is not an answer failure, then the table has no row (the route answers 500)', () => {
  expect(answerFailure(new Error('bug'), live())).toBeUndefined();
});

/** Rows both routes can meet (the routing rows are the chat route's alone). */
const ANSWER_ROWS = ROWS.filter(
  ([, err, deadline]) =>
    (err instanceof NoModelAnswered || err instanceof DeadlineExceeded) && deadline().reason === undefined,
);

test.each(ANSWER_ROWS)(
  'when %s on /process and on the chat route, then both answer the same status, code and Retry-After',
  async (_what, err, _d, status, code, retryAfter) => {
    const app = testApp({
      pipeline: { answer: () => Promise.reject(err) },
    });
    const process = await request(app).post('/process').set(TENANT_HEADER, TENANT).send({ prompt: 'hi' });
    const chat = await request(app)
      .post('/v1/chat/completions')
      .set(TENANT_HEADER, TENANT)
      .send({ model: 'both', messages: [{ role: 'user', content: 'hi' }] });
    expect([process.status, (process.body as { code: string }).code, process.headers['retry-after']]).toEqual([
      status,
      code,
      retryAfter,
    ]);
    expect([chat.status, (chat.body as { error: { code: string } }).error.code, chat.headers['retry-after']]).toEqual([
      status,
      code,
      retryAfter,
    ]);
  },
);
