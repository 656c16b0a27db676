import { tracing } from './instrument';
import { runService } from '@context-qa/common/http';
import { configSchema, type Config } from './config';
import { start } from './server';

runService<Config>('gateway-service', configSchema, start, tracing);
