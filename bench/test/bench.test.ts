/** `make bench --short` still works end to end and reports every scenario. No timing asserted. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '@context-qa/testkit';

test('when the benchmark runs in short mode, then it reports every scenario with no errors', () => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'bench-'));
  try {
    const r = spawnSync(process.execPath, [path.join(repoRoot, 'bench/dist/run.js'), '--short', '--out', out], { encoding: 'utf8', timeout: 180_000 });
    expect(r.status).toBe(0);
    const report = JSON.parse(readFileSync(path.join(out, 'latest.json'), 'utf8'));
    const scenarios = new Set(report.results.map((x: { scenario: string }) => x.scenario));
    expect([...scenarios].sort()).toEqual(['breaker', 'context', 'overhead', 'parallelism', 'soak']);
    for (const x of report.results.filter((x: { scenario: string }) => x.scenario !== 'breaker')) {
      expect(x.requests).toBeGreaterThan(0);
      expect(x.errors + x.non2xx).toBe(0);
      expect(x.processes['ai-core-service'].rssEndMiB).toBeGreaterThan(0);
    }
    expect(readFileSync(path.join(out, 'latest.md'), 'utf8')).toMatch(/\| overhead \| dapr, 50 req\/s \|/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 200_000);
