import { readFileSync } from 'node:fs';

/** Roster's version. The bundle (scripts/bundle-server.ts) has it written in at build time; from source it is read. */
export const VERSION: string =
  process.env.ROSTER_BUILD_VERSION ?? (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
