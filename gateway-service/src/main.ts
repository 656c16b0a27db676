/**
 * `node dist/main.js`: gateway-service as a process. Tracing is imported first (it must patch http and
 * express before they load); runService validates the config, starts the server, stops it on SIGTERM/SIGINT.
 */
import { tracing } from './instrument';
import { runService } from '@context-qa/common/http';
import { configSchema, type Config } from './config';
import { start } from './server';

runService<Config>('gateway-service', configSchema, start, tracing);
