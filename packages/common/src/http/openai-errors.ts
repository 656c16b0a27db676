/**
 * Error handler for OpenAI-compatible routes: writes errors in OpenAI's shape, which its SDKs parse, instead
 * of problem+json, with the same status and code.
 */
import type { ErrorRequestHandler } from 'express';
import type { Logger } from 'pino';
import { openAiError } from '../openai';
import { toAppError } from './route-table';

/**
 * Errors on an OpenAI-compatible route in OpenAI's shape (what its SDKs parse
 * into their own error classes), with the same status and stable code as our
 * problem+json would carry; the cause is logged, never sent.
 */
export function openAiErrorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const appErr = toAppError(err);
    if (appErr.status >= 500) logger.error({ err, route: req.path }, 'request failed');
    const allow = appErr.extra['allow'];
    if (Array.isArray(allow)) res.setHeader('allow', allow.join(', '));
    const code =
      typeof appErr.extra['code'] === 'string'
        ? appErr.extra['code']
        : appErr.title.toLowerCase().replace(/[^a-z0-9]+/g, '_');
    res.status(appErr.status).json(openAiError(appErr.status, appErr.detail ?? appErr.title, code));
  };
}
