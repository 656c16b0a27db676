/** The model simulator for tests that drive the real SDKs: started before the file's tests, stopped after. */
import { SimulatorAdmin, startSimulator, type Simulator } from '@context-qa/model-sim';

export function useSimulator(): { readonly sim: Simulator; readonly admin: SimulatorAdmin } {
  const clouds = {} as { sim: Simulator; admin: SimulatorAdmin };
  beforeAll(async () => {
    // The Bedrock SDK signs every request, also to the simulator.
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'simulated', AWS_SECRET_ACCESS_KEY: 'simulated', AWS_EC2_METADATA_DISABLED: 'true' });
    clouds.sim = await startSimulator();
    clouds.admin = new SimulatorAdmin(clouds.sim.url);
  });
  afterAll(() => clouds.sim.stop());
  return clouds;
}
