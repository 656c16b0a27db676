export * from './backing';
export * from './daprd';
export * from './paths';
export * from './ports';
export * from './process';
export * from './stack';
export * from './services';
export * from './dev-keys';
