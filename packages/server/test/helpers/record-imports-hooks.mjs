// The loader hooks of record-imports.mjs (they run on the loader's own thread).
import { appendFileSync } from 'node:fs';

let file;

export function initialize(data) {
  file = data?.file;
}

export async function resolve(specifier, context, nextResolve) {
  const result = await nextResolve(specifier, context);
  if (file && result.url.includes('/@opentelemetry/')) appendFileSync(file, `${result.url}\n`);
  return result;
}
