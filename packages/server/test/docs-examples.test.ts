/**
 * Every example of README.md, docs/*.md and packages/sdk/README.md runs as written, in the order given, against
 * a fresh Roster (issue 19). The convention is CONTRIBUTING.md's "Examples in the docs":
 *
 * - ```sh / ```bash blocks run in bash with `set -euo pipefail`, `ROSTER` (the server's URL) and `KEY` (its
 *   super-admin key) exported. The blocks of a document share their variables and functions: each runs in its
 *   own bash, which loads what the earlier blocks left and saves what it leaves. A `curl` shim first on PATH adds
 *   `--fail-with-body` and fails on a GraphQL answer with `"errors"`, so an error answer fails the example while
 *   the documents keep plain commands a reader can paste. An `npm` shim refuses to run (an unmarked `npm install`
 *   or `npm start` fails instead of installing or starting a server).
 * - ```graphql blocks are POSTed to /graphql with the super-admin key, in the same sequence as the shell blocks
 *   (one request per operation; several operations in a block must be named).
 * - ```js / ```ts blocks of a document are concatenated, in order, into one ES module run with `node --import tsx`
 *   in a temporary directory inside the repository (so `@roq/nodejs` resolves from node_modules, and
 *   `@roster/client` to packages/sdk/src through a tsconfig `paths` entry, as the SDK's build is not needed).
 *   Imports are hoisted; a top-level `const`/`let` becomes `var`, so a later example may reuse a name such as
 *   `const { users } = …`; the literal addresses `'http://127.0.0.1:4000'` and `'https://roster.example.com'`
 *   become the test server's. `KEY` and `ROSTER_API_KEY` hold the key. A thrown error or rejected promise fails.
 * - `<!-- docs-test: skip (reason) -->` right before a block leaves it out (npm commands, browser code, compile-
 *   time examples); `<!-- docs-test: expect-error CODE -->` makes it an example of an error: it must fail with that
 *   code. ```text, ```console, ```json, ```yaml, … are never run; a fence in any other language fails the test.
 *
 * Servers: each document gets its own fresh server per track, so values that must be unique (references,
 * e-mail addresses) can be fixed literals. README.md gives each example twice, with `@roq/nodejs` and with curl,
 * as alternatives; its shell-and-GraphQL track and its SDK track each run on their own fresh server (the README
 * says so). On PostgreSQL (DATABASE_URL set) each server has a new database, dropped afterwards. The tracks are
 * independent, so they run side by side; the temporary directory is made per run and removed in `after`.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  errorCodes,
  exampleEnv,
  extractBlocks,
  graphqlOperations,
  run,
  scriptModule,
  shellScript,
  where,
  writeCurlShim,
  writeRefusingShim,
  type DocBlock,
} from './helpers/docs-examples.ts';
import { startServer, type TestServer } from './helpers/server.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');
/** Made in `before` (one per run, so that concurrent runs never share it) and removed in `after`. */
let tmpRoot = '';

/** The documents, in order, with the fewest runnable examples each must have (so a broken extractor fails). */
const minimums: Record<string, { shell?: number; script?: number }> = {
  'README.md': { shell: 10, script: 8 },
  'docs/graphql.md': { shell: 3 },
  'docs/rest.md': { shell: 2 },
  'docs/sdk-seed-examples.md': { script: 30 },
  'packages/sdk/README.md': { script: 70 },
};
const documents: { file: string; minShell: number; minScript: number }[] = [
  'README.md',
  ...readdirSync(path.join(repo, 'docs')).filter((name) => name.endsWith('.md')).sort().map((name) => `docs/${name}`),
  'packages/sdk/README.md',
].map((file) => ({ file, minShell: minimums[file]?.shell ?? 0, minScript: minimums[file]?.script ?? 0 }));

const SHELL_TIMEOUT_MS = 30_000;
const SCRIPT_TIMEOUT_MS = 60_000;

function report(block: DocBlock, what: string, output: { stdout: string; stderr: string }): string {
  return `${where(block)}: ${what}\n--- example ---\n${block.code}\n--- stdout ---\n${output.stdout}\n--- stderr ---\n${output.stderr}`;
}

/** Runs the shell and GraphQL blocks of one document, in order, against `server`. */
async function runShellTrack(blocks: DocBlock[], server: TestServer, dir: string): Promise<void> {
  const realCurl = execFileSync('bash', ['-c', 'command -v curl'], { encoding: 'utf8' }).trim();
  const bin = path.join(dir, 'bin');
  writeCurlShim(bin, realCurl);
  writeRefusingShim(bin, 'npm', 'npm is never run by the docs test: mark the block <!-- docs-test: skip (reason) -->');
  const stateFile = path.join(dir, 'state.sh');
  const env = exampleEnv({ ROSTER: server.url, KEY: server.apiKey, PATH: `${bin}:${process.env.PATH ?? ''}` });
  for (const [index, block] of blocks.entries()) {
    if (block.kind === 'graphql') {
      for (const { operationName } of graphqlOperations(block)) {
        const res = await fetch(`${server.url}/graphql`, {
          method: 'POST',
          headers: { authorization: `Bearer ${server.apiKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ query: block.code, ...(operationName ? { operationName } : {}) }),
        });
        const text = await res.text();
        const output = { stdout: `HTTP ${res.status}\n${text}`, stderr: '' };
        const codes = errorCodes(text);
        if (block.expectError) {
          assert.ok(codes.includes(block.expectError), report(block, `expected the error ${block.expectError}`, output));
        } else {
          assert.ok(res.status === 200 && !/"errors"\s*:/.test(text), report(block, `POST /graphql${operationName ? ` (${operationName})` : ''} failed`, output));
        }
      }
      continue;
    }
    const script = path.join(dir, `block-${index}.sh`);
    writeFileSync(script, shellScript(block, stateFile));
    const blockEnv = block.expectError ? { ...env, DOCS_TEST_EXPECT_ERROR: block.expectError } : env;
    const result = await run('bash', [script], { cwd: dir, env: blockEnv, timeoutMs: SHELL_TIMEOUT_MS });
    if (block.expectError) {
      assert.equal(result.code, 0, report(block, `exited with ${result.code}`, result));
      assert.ok(errorCodes(result.stdout).includes(block.expectError), report(block, `expected the error ${block.expectError} in the answer`, result));
    } else {
      assert.equal(result.code, 0, report(block, `exited with ${result.code}`, result));
    }
  }
}

/** Runs the JS/TS blocks of one document as one module against `server`. */
async function runScriptTrack(file: string, blocks: DocBlock[], server: TestServer, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const sdkSource = path.relative(dir, path.join(repo, 'packages/sdk/src/index.ts'));
  const tsconfig = path.join(dir, 'tsconfig.json');
  writeFileSync(tsconfig, JSON.stringify({ compilerOptions: { baseUrl: '.', paths: { '@roster/client': [sdkSource] } } }));
  const module = path.join(dir, 'examples.mts');
  writeFileSync(module, scriptModule(blocks, server.url));
  const env = exampleEnv({ ROSTER: server.url, KEY: server.apiKey, ROSTER_API_KEY: server.apiKey, TSX_TSCONFIG_PATH: tsconfig });
  const result = await run(process.execPath, ['--import', 'tsx', module], { cwd: dir, env, timeoutMs: SCRIPT_TIMEOUT_MS });
  if (result.code !== 0) {
    const started = [...result.stderr.matchAll(/docs-test: running (\S+)/g)].map((m) => m[1]);
    const failed = started.at(-1) ?? file;
    const block = blocks.find((b) => where(b) === failed);
    assert.fail(`${failed}: the example failed (exit ${result.code})\n${block ? `--- example ---\n${block.code}\n` : ''}--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`);
  }
  assert.match(result.stderr, /docs-test: every example ran/);
}

// The documents (and a document's two tracks) are independent, each on its own server: they run side by side.
describe('every example in the docs runs as written', { concurrency: 4 }, () => {
  before(() => {
    tmpRoot = mkdtempSync(path.join(here, '.docs-examples-tmp-'));
  });
  after(() => {
    if (tmpRoot) rmSync(tmpRoot, { recursive: true, force: true });
  });

  it('refuses what it would not run: an unknown language, a stray or malformed directive, an unclosed fence', () => {
    assert.throws(() => extractBlocks('t.md', '```python\nprint(1)\n```\n'), /t\.md:1: code block in "python"/);
    assert.throws(() => extractBlocks('t.md', '<!-- docs-test: skip (x) -->\n```text\nx\n```\n'), /never run/);
    assert.throws(() => extractBlocks('t.md', '<!-- docs-test: skip (x) -->\n\n```sh\nx\n```\n'), /not followed by a code block/);
    assert.throws(() => extractBlocks('t.md', '<!-- docs-test: skip -->\n```sh\nx\n```\n'), /unknown docs-test directive/);
    assert.throws(() => extractBlocks('t.md', 'a\n```sh\nx\n'), /t\.md:2: unclosed code fence/);
    const [block] = extractBlocks('t.md', 'a\n<!-- docs-test: expect-error CONFLICT -->\n  ```ts\n  await x();\n  ```\n');
    assert.deepEqual(block, { file: 't.md', line: 3, lang: 'ts', kind: 'script', code: 'await x();', expectError: 'CONFLICT' });
  });

  for (const doc of documents) {
    describe(doc.file, { concurrency: 2 }, () => {
      const blocks = extractBlocks(doc.file, readFileSync(path.join(repo, doc.file), 'utf8'));
      const runnable = blocks.filter((b) => b.kind !== 'text');
      const shell = runnable.filter((b) => !b.skip && (b.kind === 'shell' || b.kind === 'graphql'));
      const scripts = runnable.filter((b) => !b.skip && b.kind === 'script');
      const slug = doc.file.replace(/[^a-zA-Z0-9]+/g, '-');

      it('has its examples found, each run or explicitly skipped', () => {
        assert.ok(shell.filter((b) => b.kind === 'shell').length >= doc.minShell, `${doc.file}: fewer shell examples than ${doc.minShell}`);
        assert.ok(scripts.length >= doc.minScript, `${doc.file}: fewer JS/TS examples than ${doc.minScript}`);
        for (const block of runnable) {
          assert.ok(block.skip !== undefined || shell.includes(block) || scripts.includes(block), `${where(block)} is neither run nor skipped`);
        }
      });

      if (shell.length > 0) {
        it(`runs its ${shell.length} shell and GraphQL examples in order on a fresh server`, async () => {
          const server = await startServer();
          try {
            await runShellTrack(shell, server, path.join(tmpRoot, `${slug}-shell`));
          } finally {
            await server.close();
          }
        });
      }

      if (scripts.length > 0) {
        it(`runs its ${scripts.length} JS/TS examples as one module on a fresh server`, async () => {
          const server = await startServer();
          try {
            await runScriptTrack(doc.file, scripts, server, path.join(tmpRoot, `${slug}-script`));
          } finally {
            await server.close();
          }
        });
      }
    });
  }
});
