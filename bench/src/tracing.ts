/**
 * Scenario `tracing`: what tracing costs. The same load against the main stack
 * (tracing off) and against a second, identical stack whose services and
 * sidecars export every span (sampling 1) to an OTLP receiver in this process.
 */
import { OtlpReceiver, serviceApps, Stack } from '@context-qa/testkit';
import type { RunRow } from './run';

export async function tracingOverhead(opts: {
  short: boolean;
  run: RunRow;
  gateway: string;
  apps: Parameters<typeof serviceApps>[0];
}): Promise<void> {
  const otlp = await OtlpReceiver.start({ keep: false });
  const traced = await new Stack({ apps: serviceApps(opts.apps), tracing: { otlpEndpoint: otlp.endpoint } }).start();
  try {
    const tracedGw = `${traced.appUrl('gateway-service')}/v1/prompt`;
    const durationSec = opts.short ? 1 : 20;
    await opts.run(
      'warm-up',
      'tracing on',
      { url: tracedGw, body: { prompt: 'warm up' }, durationSec: opts.short ? 1 : 3, rate: 50 },
      undefined,
      traced,
    );
    for (const rate of opts.short ? [50] : [100, 200]) {
      await opts.run('tracing', `off, ${rate} req/s`, {
        url: opts.gateway,
        body: { prompt: 'tracing' },
        durationSec,
        rate,
      });
      const before = { exports: otlp.exports, bytes: otlp.bytes };
      const row = await opts.run(
        'tracing',
        `on (every span exported), ${rate} req/s`,
        { url: tracedGw, body: { prompt: 'tracing' }, durationSec, rate },
        undefined,
        traced,
      );
      row.note = `${otlp.exports - before.exports} OTLP exports, ${Math.round((otlp.bytes - before.bytes) / 1024)} KiB`;
    }
  } finally {
    await traced.stop();
    await otlp.stop();
  }
}
