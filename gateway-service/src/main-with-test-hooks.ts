/** main.ts with the test hooks of test-hooks.ts: what testkit and the bench start when a test needs one; never an image's command. */
import { tracing } from './instrument';
import { runService } from '@context-qa/common/http';
import { configSchema, type Config } from './config';
import { start } from './server';
import { testHooksFrom } from './test-hooks';

const hooks = testHooksFrom(process.env);
runService<Config>('gateway-service', configSchema, (config, logger) => start(config, logger, hooks), tracing);
