/**
 * test/integration/pipeline.test.ts as it is, with gateway-service and ai-core-service
 * run from their images (make images) the way k8s/base runs them: read-only root, the
 * manifest's user, no capabilities, no new privileges, its env, /tmp as a 16 MiB tmpfs.
 * The sidecars, Redis, dynalite and the simulator stay host processes (host network).
 */
import './launch-containers';
import '../integration/pipeline.test';
import { CONTAINER_PID_LABEL, engine, serviceImage } from '@context-qa/testkit';

// Each test of the suite runs against the images: this process has both services running as containers.
beforeEach(() => {
  const running = engine(['ps', `--filter=label=${CONTAINER_PID_LABEL}=${process.pid}`, '--format={{.Image}}']).stdout;
  expect(running.split('\n').filter(Boolean).sort()).toEqual([
    serviceImage('ai-core-service'),
    serviceImage('gateway-service'),
  ]);
});
