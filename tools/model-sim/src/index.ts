/** The simulator as a library: started in-process, or a running one driven through its admin client. */
export * from './answer';
export * from './client';
export * from './counters';
export * from './faults';
export { startSimulator, type Simulator, type SimulatorOptions } from './server';
export { KNOWN_MODELS } from './bedrock';
export { API_VERSIONS } from './azure';
export { useSimulator, type SimulatedClouds } from './use-simulator';
