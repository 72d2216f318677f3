/**
 * Extracts the fenced examples of a Markdown document and runs them: shell blocks in bash with a `curl` that
 * fails on an error answer, GraphQL blocks as POST /graphql, and JS/TS blocks as one ES module. The convention is
 * the one of CONTRIBUTING.md, "Examples in the docs".
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Kind, parse, type OperationDefinitionNode } from 'graphql';

/** Fence languages the test runs, by how. */
const SHELL = new Set(['sh', 'bash', 'shell']);
const SCRIPT = new Set(['js', 'javascript', 'mjs', 'ts', 'typescript', 'mts']);
const GRAPHQL = new Set(['graphql', 'gql']);
/** Fence languages that are never run: output, configuration, other languages' code. */
const NOT_RUN = new Set(['', 'text', 'console', 'json', 'yaml', 'yml', 'promql', 'sql', 'http', 'diff', 'ini', 'dockerfile']);

export type BlockKind = 'shell' | 'script' | 'graphql' | 'text';

export interface DocBlock {
  /** Path relative to the repository root, and the line of the opening fence (1-based). */
  readonly file: string;
  readonly line: number;
  readonly lang: string;
  readonly kind: BlockKind;
  readonly code: string;
  /** `<!-- docs-test: skip (reason) -->`: not run, with the reason. */
  readonly skip?: string;
  /** `<!-- docs-test: expect-error CODE -->`: run, and must fail with that error code. */
  readonly expectError?: string;
}

export const where = (block: Pick<DocBlock, 'file' | 'line'>): string => `${block.file}:${block.line}`;

const DIRECTIVE = /^\s*<!--\s*docs-test:\s*(.*?)\s*-->\s*$/;

/**
 * Every fenced block of `markdown`, with the directive on the line right before its fence. Throws on a fence
 * language that is neither run nor known as not run, on a malformed directive, on a directive that is not right
 * before a runnable block, and on an unclosed fence: nothing may escape the test silently.
 */
export function extractBlocks(file: string, markdown: string): DocBlock[] {
  const lines = markdown.split('\n');
  const blocks: DocBlock[] = [];
  let pending: { line: number; text: string } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!;
    const directive = DIRECTIVE.exec(text);
    if (directive) {
      if (pending) throw new Error(`${file}:${pending.line}: docs-test directive not followed by a code block`);
      pending = { line: i + 1, text: directive[1]! };
      continue;
    }
    const fence = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)(.*)$/.exec(text);
    if (!fence) {
      if (pending) throw new Error(`${file}:${pending.line}: docs-test directive not followed by a code block`);
      if (/docs-test/.test(text) && /<!--/.test(text)) throw new Error(`${file}:${i + 1}: malformed docs-test directive: ${text}`);
      continue;
    }
    const [, indent, marker, rawLang] = fence as unknown as [string, string, string, string];
    const lang = rawLang.toLowerCase();
    const start = i;
    const body: string[] = [];
    let closed = false;
    for (i++; i < lines.length; i++) {
      const closing = new RegExp(`^\\s*${marker[0] === '`' ? '`' : '~'}{${marker.length},}\\s*$`);
      if (closing.test(lines[i]!)) {
        closed = true;
        break;
      }
      const content = lines[i]!;
      body.push(content.startsWith(indent) ? content.slice(indent.length) : content.trimStart());
    }
    if (!closed) throw new Error(`${file}:${start + 1}: unclosed code fence`);
    const kind: BlockKind | undefined = SHELL.has(lang)
      ? 'shell'
      : SCRIPT.has(lang)
        ? 'script'
        : GRAPHQL.has(lang)
          ? 'graphql'
          : NOT_RUN.has(lang)
            ? 'text'
            : undefined;
    if (!kind) {
      throw new Error(`${file}:${start + 1}: code block in "${lang}": the docs test neither runs nor knows this language ` +
        '(add it to SHELL/SCRIPT/GRAPHQL or NOT_RUN in test/helpers/docs-examples.ts)');
    }
    let skip: string | undefined;
    let expectError: string | undefined;
    if (pending) {
      const skipMatch = /^skip\s+\((.+)\)$/.exec(pending.text);
      const errorMatch = /^expect-error\s+([A-Z_]+)$/.exec(pending.text);
      if (skipMatch) skip = skipMatch[1];
      else if (errorMatch) expectError = errorMatch[1];
      else throw new Error(`${file}:${pending.line}: unknown docs-test directive "${pending.text}" (skip (reason) or expect-error CODE)`);
      if (kind === 'text') throw new Error(`${file}:${pending.line}: docs-test directive before a "${lang}" block, which is never run`);
      pending = undefined;
    }
    blocks.push({ file, line: start + 1, lang, kind, code: body.join('\n'), ...(skip ? { skip } : {}), ...(expectError ? { expectError } : {}) });
  }
  if (pending) throw new Error(`${file}:${pending.line}: docs-test directive not followed by a code block`);
  return blocks;
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command without blocking the event loop (the server under test answers in this process). */
export function run(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      stderr += `\ndocs-test: killed after ${options.timeoutMs} ms`;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The environment of the examples: the caller's, without the test runner's own variables. */
export function exampleEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.NODE_TEST_CONTEXT;
  delete env.DATABASE_URL;
  delete env.NODE_OPTIONS;
  return env;
}

/**
 * A `curl` placed first on PATH for the shell examples: the real curl with `--fail-with-body` (a 4xx or 5xx
 * answer fails the command, its body still printed), and a GraphQL answer with `"errors"` failing it too. With
 * DOCS_TEST_EXPECT_ERROR set (a block marked expect-error), it is the plain curl.
 */
export function writeCurlShim(binDir: string, realCurl: string): void {
  mkdirSync(binDir, { recursive: true });
  const script = `#!/usr/bin/env bash
if [ -n "\${DOCS_TEST_EXPECT_ERROR:-}" ]; then exec ${realCurl} "$@"; fi
out=$(mktemp)
${realCurl} --fail-with-body "$@" >"$out"
rc=$?
cat "$out"
if [ "$rc" -ne 0 ]; then
  echo "docs-test: curl failed (exit $rc): curl $*" >&2
  rm -f "$out"; exit "$rc"
fi
if grep -Eq '"errors"[[:space:]]*:[[:space:]]*\\[' "$out"; then
  echo "docs-test: the answer has GraphQL errors: curl $*" >&2
  rm -f "$out"; exit 1
fi
rm -f "$out"
`;
  const file = path.join(binDir, 'curl');
  writeFileSync(file, script);
  chmodSync(file, 0o755);
}

/** A command that fails with `message`, in place of one the examples must never run (npm: installs, servers). */
export function writeRefusingShim(binDir: string, command: string, message: string): void {
  mkdirSync(binDir, { recursive: true });
  const file = path.join(binDir, command);
  writeFileSync(file, `#!/usr/bin/env bash\necho ${JSON.stringify(`docs-test: ${message}`)} >&2\nexit 1\n`);
  chmodSync(file, 0o755);
}

/**
 * One shell block as a bash script that continues the document's earlier blocks: it loads the variables and
 * functions they left in `stateFile`, runs under `set -euo pipefail`, and saves its own for the next block.
 */
export function shellScript(block: DocBlock, stateFile: string): string {
  return `__docs_base=" $(compgen -v | tr '\\n' ' ') "
if [ -f ${JSON.stringify(stateFile)} ]; then source ${JSON.stringify(stateFile)}; fi
set -euo pipefail
# ---- ${where(block)}
${block.code}
# ---- end of the example
__docs_save() {
  local name decl
  {
    for name in $(compgen -A function); do
      case "$name" in __docs*) ;; *) declare -f "$name" ;; esac
    done
    for name in $(compgen -v); do
      case "$name" in __docs* | BASH* | FUNCNAME | PIPESTATUS | _ | name | decl) continue ;; esac
      case "$__docs_base" in *" $name "*) continue ;; esac
      decl=$(declare -p "$name" 2>/dev/null) || continue
      case "$decl" in "declare -"*r*) continue ;; esac
      printf '%s\\n' "$decl"
    done
  } > ${JSON.stringify(stateFile)}
}
__docs_save
`;
}

/** The error codes (GraphQL `extensions.code`, REST `errorCode`) in an answer's text. */
export function errorCodes(text: string): string[] {
  return [...text.matchAll(/"(?:code|errorCode)"\s*:\s*"([A-Z_]+)"/g)].map((m) => m[1]!);
}

/** The operations of a GraphQL block, in order: one request each (named when the block has several). */
export function graphqlOperations(block: DocBlock): { operationName?: string }[] {
  const document = parse(block.code);
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (operations.length === 0) throw new Error(`${where(block)}: no operation in the GraphQL block`);
  if (operations.length === 1) return [{}];
  return operations.map((op) => {
    if (!op.name) throw new Error(`${where(block)}: several operations in one GraphQL block must each have a name`);
    return { operationName: op.name.value };
  });
}

/** Literal server addresses in the JS/TS examples, replaced by the test server's. */
const EXAMPLE_URLS = [/'http:\/\/127\.0\.0\.1:4000'/g, /'https:\/\/roster\.example\.com'/g];

/**
 * A document's JS/TS blocks as one ES module, in order: imports hoisted (and merged), a marker naming each block
 * before it runs, top-level `const`/`let` declared with `var` so that a later example may reuse a name (each
 * example stands alone as written; the module is their concatenation), the example server addresses replaced by
 * `serverUrl`, and a block marked expect-error wrapped so that it must throw an error with that code.
 */
export function scriptModule(blocks: DocBlock[], serverUrl: string): string {
  const named = new Map<string, Set<string>>();
  const otherImports = new Set<string>();
  const body: string[] = [];
  for (const block of blocks) {
    const lines: string[] = [];
    for (const line of block.code.split('\n')) {
      const imp = /^import\s+\{([^}]*)\}\s+from\s+(['"][^'"]+['"]);?\s*$/.exec(line);
      if (imp) {
        const names = named.get(imp[2]!) ?? new Set<string>();
        for (const name of imp[1]!.split(',').map((n) => n.trim()).filter(Boolean)) names.add(name);
        named.set(imp[2]!, names);
        continue;
      }
      if (/^import\s/.test(line)) {
        otherImports.add(line);
        continue;
      }
      let out = line.replace(/^(const|let)\s/, 'var ');
      for (const url of EXAMPLE_URLS) out = out.replace(url, JSON.stringify(serverUrl).replace(/"/g, "'"));
      lines.push(out);
    }
    const marker = `process.stderr.write(${JSON.stringify(`docs-test: running ${where(block)}\n`)});`;
    if (block.expectError) {
      const code = JSON.stringify(block.expectError);
      body.push(
        marker,
        'try {',
        ...lines,
        `  throw Object.assign(new Error(${JSON.stringify(`docs-test: ${where(block)} should fail with ${block.expectError}, but succeeded`)}), { __docsNoError: true });`,
        '} catch (__docsError) {',
        '  const __e = __docsError as { __docsNoError?: boolean; code?: unknown; errorCode?: unknown };',
        `  if (__e.__docsNoError || (__e.code ?? __e.errorCode) !== ${code}) throw __docsError;`,
        `  process.stderr.write(${JSON.stringify(`docs-test: ${where(block)} failed with ${block.expectError}, as expected\n`)});`,
        '}',
      );
    } else {
      body.push(marker, ...lines);
    }
  }
  const imports = [
    ...[...named].map(([from, names]) => `import { ${[...names].join(', ')} } from ${from};`),
    ...otherImports,
  ];
  return `${imports.join('\n')}\n${body.join('\n')}\nprocess.stderr.write('docs-test: every example ran\\n');\n`;
}
