/** `make bench --short` still works end to end and reports every scenario. No timing asserted. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '@context-qa/testkit';
import type { Report } from '../../src/report';

test('when the benchmark runs in short mode, then it reports every scenario with no errors', () => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'bench-'));
  try {
    const r = spawnSync(process.execPath, [path.join(repoRoot, 'bench/dist/run.js'), '--short', '--out', out], {
      encoding: 'utf8',
      timeout: 180_000,
    });
    // On failure, show why (the run's last words), not just an exit code.
    expect({
      status: r.status,
      tail: r.status === 0 ? '' : `${r.stdout.slice(-1500)}\n${r.stderr.slice(-3000)}`,
    }).toEqual({ status: 0, tail: '' });
    const report = JSON.parse(readFileSync(path.join(out, 'latest.json'), 'utf8')) as Report;
    const scenarios = new Set(report.results.map((x: { scenario: string }) => x.scenario));
    expect([...scenarios].sort()).toEqual([
      'breaker',
      'context',
      'cost',
      'efficiency',
      'overhead',
      'parallelism',
      'soak',
      'tracing',
      'ttft',
    ]);
    // Overload refuses on purpose: its refusals are checked below, not counted as errors.
    const isOverload = (x: { variant: string }) => x.variant.startsWith('overload');
    const rows = report.results.filter(
      (x: { scenario: string; variant: string }) => x.scenario !== 'breaker' && !isOverload(x),
    );
    for (const x of rows) {
      expect(x.requests).toBeGreaterThan(0);
      expect(x.processes['ai-core-service']!.rssEndMiB).toBeGreaterThan(0);
    }
    // Named, with the first error, so a failure says which path broke and how.
    const failed = rows.filter((x: { errors: number; non2xx: number }) => x.errors + x.non2xx > 0);
    expect(
      failed.map(
        (x: { scenario: string; variant: string; errors: number; non2xx: number; note?: string }) =>
          `${x.scenario} | ${x.variant}: ${x.errors + x.non2xx} errors${x.note ? ` (${x.note})` : ''}`,
      ),
    ).toEqual([]);
    // Cost: hits are all hits, model calls all model calls; the other scenarios never used the answer cache.
    const cost = report.results.filter((x: { scenario: string }) => x.scenario === 'cost');
    expect(
      cost.map((x: { variant: string; requests: number; cache?: Record<string, number> }) => [x.variant, x.cache]),
    ).toEqual([
      ['model call (no-cache), 20 req/s', { bypass: cost[0]!.requests }],
      ['cache hit, 20 req/s', { hit: cost[1]!.requests }],
      ['limits off (gateway-service), 20 req/s', { bypass: cost[2]!.requests }],
      ['limits on (gateway-limited), 20 req/s', { bypass: cost[3]!.requests }],
    ]);
    expect(cost[3]!.note).toMatch(
      /^\d+ tokens charged to the key's daily counter; at least 0 limit-store calls failed \(decided per replica\)$/,
    );
    const cached = report.results.filter(
      (x: { scenario: string; cache?: Record<string, number> }) =>
        x.scenario !== 'cost' && x.cache && Object.keys(x.cache).some((k) => k !== 'bypass'),
    );
    expect(cached.map((x: { variant: string }) => x.variant)).toEqual([]);
    // Time to first token: every path streams the prompt's 20 content chunks.
    const streams = report.results.filter(
      (x: { scenario: string; variant: string }) => x.scenario === 'ttft' && x.variant.endsWith(', stream'),
    );
    expect(streams.map((x: { variant: string }) => x.variant)).toEqual([
      'dapr, primary, stream',
      'dapr, fastest, stream',
      'direct, primary, stream',
      'direct, fastest, stream',
      'simulator (Azure gpt-4), stream',
    ]);
    for (const x of streams)
      expect({ variant: x.variant, chunks: x.chunks, first: x.ttft!.p50 > 0 }).toEqual({
        variant: x.variant,
        chunks: 20,
        first: true,
      });
    // Overload: nothing fails on our side; whatever is not answered is a 503 with Retry-After.
    const overload = report.results.find((x: { variant: string }) => isOverload(x)) as {
      errors: number;
      non2xx: number;
      split?: { refused: { count: number; withRetryAfter: number } };
    };
    expect({
      errors: overload.errors,
      refused: overload.split?.refused.count ?? 0,
      withRetryAfter: overload.split?.refused.withRetryAfter ?? 0,
    }).toEqual({
      errors: 0,
      refused: overload.non2xx,
      withRetryAfter: overload.non2xx,
    });
    const md = readFileSync(path.join(out, 'latest.md'), 'utf8');
    expect(md).toMatch(/\| primary, context hit, 20 req\/s \| 20 \|/);
    expect(md).toMatch(/\| overhead \| dapr, 50 req\/s \|/);
    expect(md).toMatch(/\| dapr, fastest, stream \| 2 \|/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 200_000);
