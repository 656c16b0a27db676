/**
 * Puts the request's spend (domain/spend.ts) on every whole answer of the
 * answer routes, errors included, as the headers are written: the gateway
 * charges it. Streams carry it in their trailer instead (chat-wire.ts), since
 * their headers leave before any model has finished.
 */
import type { RequestHandler } from 'express';
import { SPEND_HEADER } from '@context-qa/common/contract';
import { SpendMeter, spending } from '../domain/spend';

export const meterSpend: RequestHandler = (_req, res, next) => {
  const meter = new SpendMeter();
  const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => typeof res;
  // Express has no hook between "headers final" and "headers sent": wrap writeHead, as on-headers does.
  res.writeHead = ((...args: unknown[]) => {
    if (!res.headersSent && !res.hasHeader(SPEND_HEADER)) res.setHeader(SPEND_HEADER, JSON.stringify(meter.total()));
    return writeHead(...args);
  }) as typeof res.writeHead;
  spending.run(meter, next);
};
