export * from './config';
export * from './logger';
export * from './problem';
export * from './http';
export * from './service';
