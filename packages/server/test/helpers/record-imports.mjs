// Loaded with `node --import`: records every module URL the ES module loader resolves under `@opentelemetry/`, one
// a line, in the file named by RECORD_IMPORTS_FILE (test/tracing.test.ts checks what a Roster process loaded).
import { register } from 'node:module';
import { env } from 'node:process';

register('./record-imports-hooks.mjs', import.meta.url, { data: { file: env.RECORD_IMPORTS_FILE } });
