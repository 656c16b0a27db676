/**
 * The one error type services throw for an HTTP-visible failure. It is written
 * to the client as RFC 9457 application/problem+json by the shared error handler;
 * `cause` is logged, never sent.
 */
export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail?: string,
    readonly extra: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(detail ?? title, options);
  }
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  /** Stable, machine-readable reason; clients branch on it, never on `detail`. */
  code: string;
  detail?: string;
  requestId?: string;
  [key: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  499: 'Client Closed Request',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

const slugOf = (title: string, sep: string) =>
  title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, sep)
    .replace(/^[-_]+|[-_]+$/g, '');

export function problemFrom(err: AppError, requestId?: string): Problem {
  const code = typeof err.extra['code'] === 'string' ? err.extra['code'] : slugOf(err.title, '_');
  return {
    ...err.extra,
    type: `https://context-qa.dev/problems/${slugOf(err.title, '-')}`,
    title: err.title,
    status: err.status,
    code,
    ...(err.detail ? { detail: err.detail } : {}),
    ...(requestId ? { requestId } : {}),
  };
}

/** An AppError with the standard title for `status`; `cause` is logged, never sent. */
export function httpError(
  status: number,
  detail?: string,
  extra?: Record<string, unknown>,
  options?: { cause?: unknown },
): AppError {
  return new AppError(status, TITLES[status] ?? 'Error', detail, extra, options);
}
