/** The simulator's entry point for the product, which loads it on demand (src/simulator-loader.ts). */
export { runSimulatorCommand, SIMULATOR_HELP } from './main.ts';
export * from './server.ts';
