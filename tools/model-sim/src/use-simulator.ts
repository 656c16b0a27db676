/// <reference types="jest" />
/**
 * The simulator's jest hooks, once, for its own tests and for the services' tests
 * that drive the real SDKs against it: started before the file's (or describe
 * block's) tests, stopped after them, optionally healed and its counters zeroed
 * after each test. Call it at describe level; it registers the hooks.
 */
import { SimulatorAdmin } from './client';
import { startSimulator, type Simulator, type SimulatorOptions } from './server';

export interface SimulatedClouds {
  /** The running simulator (its `url` serves both APIs and /admin); set once beforeAll ran. */
  readonly sim: Simulator;
  readonly admin: SimulatorAdmin;
}

export function useSimulator(use: { afterEach?: 'heal-and-reset'; options?: SimulatorOptions } = {}): SimulatedClouds {
  const clouds = {} as { sim: Simulator; admin: SimulatorAdmin };
  beforeAll(async () => {
    // The Bedrock SDK signs every request, also to the simulator: give it credentials and no instance metadata.
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: 'simulated',
      AWS_SECRET_ACCESS_KEY: 'simulated',
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    clouds.sim = await startSimulator(use.options);
    clouds.admin = new SimulatorAdmin(clouds.sim.url);
  });
  afterAll(() => clouds.sim?.stop());
  if (use.afterEach === 'heal-and-reset') {
    afterEach(async () => {
      await clouds.admin.heal();
      await clouds.admin.resetCounters();
    });
  }
  return clouds;
}
