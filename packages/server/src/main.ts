import cluster from 'node:cluster';
import { ConfigError, loadConfig } from './config.ts';
import { DataDirectoryInUseError } from './db/data-dir-lock.ts';
import { StartupError } from './errors.ts';

async function main(): Promise<void> {
  const config = loadConfig();
  // Imported on demand: a cluster's primary only forks and watches its workers, and loads none of the server.
  if (config.workers > 1 && cluster.isPrimary) {
    const { runPrimary } = await import('./cluster.ts');
    runPrimary(config);
    return;
  }
  const { serve } = await import('./serve.ts');
  await serve(config);
}

main().catch((e: unknown) => {
  if (e instanceof ConfigError || e instanceof DataDirectoryInUseError || e instanceof StartupError) {
    process.stderr.write(`${e.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`Roster failed to start: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
