import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * What `start` and `vr-lister simulator` use of the simulator's module, declared here so that the
 * product's build never compiles the simulator.
 */
export interface SimulatorModule {
  startSimulator(options: Record<string, unknown>): Promise<{ url: string; close(): Promise<void> }>;
  runSimulatorCommand(argv: string[]): Promise<void>;
}

/**
 * The simulator lives beside the product, not in it: run from source it is loaded from
 * simulator/src, run from dist/ from simulator/dist. The library itself never imports it.
 */
export async function loadSimulator(): Promise<SimulatorModule> {
  const fromSource = import.meta.url.endsWith('.ts');
  const path = fromSource ? '../simulator/src/index.ts' : '../simulator/dist/index.js';
  if (!existsSync(fileURLToPath(new URL(path, import.meta.url)))) {
    throw new Error(
      `The V&R simulator is not installed here (${path} is missing): set VR_BASE_URL to a real site, or build it with \`npm run build\` in a checkout.`,
    );
  }
  return (await import(path)) as SimulatorModule;
}
