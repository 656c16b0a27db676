/** `node dist/main.js`: the simulator as a process (dev stack, test harness, benchmarks). */
import { env, loadConfig } from '@context-qa/common/config';
import { z } from 'zod';
import { parseFault } from './faults';
import { startSimulator } from './server';

const schema = z.object({
  SIM_HOST: z.string().default('127.0.0.1').describe('listen address; keep it loopback (the admin API has no auth)'),
  SIM_PORT: env.port(4010).describe('port for both APIs and /admin'),
  SIM_AZURE_DEPLOYMENTS: z
    .string()
    .default('gpt-4,gpt-4o')
    .describe('comma-separated Azure deployment names that exist'),
  SIM_FAULTS: z
    .string()
    .default('{}')
    .describe('JSON {target: fault} applied at start, e.g. {"gpt-4":{"latencyMs":500}}')
    .transform((s, ctx) => {
      try {
        const obj = JSON.parse(s) as Record<string, unknown>;
        return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, parseFault(v)]));
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
});

async function main(): Promise<void> {
  const cfg = loadConfig(schema);
  const sim = await startSimulator({
    host: cfg.SIM_HOST,
    port: cfg.SIM_PORT,
    deployments: cfg.SIM_AZURE_DEPLOYMENTS.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    faults: cfg.SIM_FAULTS,
  });
  console.log(JSON.stringify({ msg: 'model simulator listening', port: sim.port, faults: sim.faults.all() }));
  const stop = () => void sim.stop().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
