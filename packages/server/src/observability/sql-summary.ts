/**
 * A short, safe name for a SQL statement, for trace spans: its operation and the table it works on (`SELECT users`,
 * `INSERT user_group_members`, `BEGIN`). Only keywords from a fixed list and identifiers are ever returned: string
 * literals, dollar-quoted text, numbers, comments and parameters are skipped, so no value can appear in a summary.
 */

export interface StatementSummary {
  /** `SELECT`, `INSERT`, `UPDATE`, `DELETE`, `BEGIN`, `COMMIT`, …; `OTHER` for a statement not in the list. */
  readonly operation: string;
  /** The table the statement reads first (`FROM`), inserts into, updates or deletes from, when it names one. */
  readonly collection: string | undefined;
  /** `operation collection`, or the operation alone. */
  readonly summary: string;
}

const OPERATIONS = new Set([
  'SELECT', 'INSERT', 'UPDATE', 'DELETE', 'MERGE', 'WITH', 'VALUES', 'TABLE',
  'BEGIN', 'START', 'COMMIT', 'END', 'ROLLBACK', 'SAVEPOINT', 'RELEASE', 'PREPARE',
  'SET', 'RESET', 'SHOW', 'LOCK', 'TRUNCATE', 'CREATE', 'ALTER', 'DROP', 'COMMENT', 'GRANT', 'REVOKE',
  'CALL', 'DO', 'EXPLAIN', 'COPY', 'LISTEN', 'UNLISTEN', 'NOTIFY', 'ANALYZE', 'VACUUM', 'REFRESH', 'DISCARD',
]);
const MAIN_STATEMENTS = new Set(['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'MERGE']);
const MODIFYING_STATEMENTS = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE']);
/** What an identifier must look like to be reported (PostgreSQL's 63-byte names, plain characters only). */
const IDENTIFIER_RE = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

type Token = { readonly kind: 'word' | 'ident'; readonly text: string; readonly depth: number } | { readonly kind: 'open' | 'close' | 'dot'; readonly depth: number };

/**
 * The tokens of `sql` that matter for a summary, lazily: words and quoted identifiers with their parenthesis depth,
 * parentheses and dots. Everything else is skipped without being looked at beyond its end.
 */
function* tokens(sql: string): Generator<Token> {
  const n = sql.length;
  let i = 0;
  let depth = 0;
  while (i < n) {
    const c = sql.charCodeAt(i);
    // Whitespace and other punctuation.
    if (c <= 32 || c === 44 /* , */ || c === 59 /* ; */) {
      i++;
    } else if (c === 45 /* - */ && sql.charCodeAt(i + 1) === 45) {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? n : end + 1;
    } else if (c === 47 /* / */ && sql.charCodeAt(i + 1) === 42) {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
    } else if (c === 39 /* ' */) {
      // A string literal; E'…' allows backslash escapes, '' is a quote in both.
      const escapes = i > 0 && (sql[i - 1] === 'E' || sql[i - 1] === 'e');
      i++;
      while (i < n) {
        const d = sql.charCodeAt(i);
        if (escapes && d === 92 /* \ */) i += 2;
        else if (d === 39) {
          if (sql.charCodeAt(i + 1) === 39) i += 2;
          else break;
        } else i++;
      }
      i++;
    } else if (c === 34 /* " */) {
      let text = '';
      i++;
      while (i < n) {
        const end = sql.indexOf('"', i);
        if (end < 0) {
          i = n;
          break;
        }
        text += sql.slice(i, end);
        if (sql.charCodeAt(end + 1) === 34) {
          text += '"';
          i = end + 2;
        } else {
          i = end + 1;
          break;
        }
      }
      yield { kind: 'ident', text, depth };
    } else if (c === 36 /* $ */) {
      // $1 (a parameter) or $tag$ … $tag$ (dollar quoting).
      const tag = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 64));
      if (tag) {
        const end = sql.indexOf(tag[0], i + tag[0].length);
        i = end < 0 ? n : end + tag[0].length;
      } else {
        i++;
        while (i < n && sql.charCodeAt(i) >= 48 && sql.charCodeAt(i) <= 57) i++;
      }
    } else if (c === 40 /* ( */) {
      yield { kind: 'open', depth };
      depth++;
      i++;
    } else if (c === 41 /* ) */) {
      depth = Math.max(0, depth - 1);
      yield { kind: 'close', depth };
      i++;
    } else if (c === 46 /* . */) {
      yield { kind: 'dot', depth };
      i++;
    } else if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 /* _ */) {
      let j = i + 1;
      while (j < n) {
        const d = sql.charCodeAt(j);
        if ((d >= 65 && d <= 90) || (d >= 97 && d <= 122) || (d >= 48 && d <= 57) || d === 95 || d === 36) j++;
        else break;
      }
      // A word right before a quote is a string prefix (E'…', B'…', U&'…'): the literal comes next.
      yield { kind: 'word', text: sql.slice(i, j), depth };
      i = j;
    } else {
      // Numbers, operators, casts and everything else carry nothing a summary needs.
      i++;
    }
  }
}

/**
 * The table named at the iterator's position: `name`, `"name"` or `schema.name` (reported as written). After FROM, a
 * name followed by a parenthesis is a function (`unnest(…)`), not a table; after INTO it is the column list.
 */
function tableAt(it: Iterator<Token>, afterFrom: boolean): string | undefined {
  const parts: string[] = [];
  let next = it.next();
  // UPDATE ONLY t, DELETE FROM ONLY t
  if (!next.done && next.value.kind === 'word' && next.value.text.toUpperCase() === 'ONLY') next = it.next();
  while (!next.done && (next.value.kind === 'word' || next.value.kind === 'ident')) {
    if (!IDENTIFIER_RE.test(next.value.text)) return undefined;
    parts.push(next.value.text);
    next = it.next();
    if (next.done || next.value.kind !== 'dot') break;
    next = it.next();
  }
  // `from unnest(…)`, `from (select …)`: no table.
  if (parts.length === 0 || (afterFrom && !next.done && next.value.kind === 'open')) return undefined;
  return parts.join('.');
}

export function summarizeStatement(sql: string): StatementSummary {
  const it = tokens(sql);
  let first = it.next();
  while (!first.done && first.value.kind !== 'word') first = it.next();
  if (first.done || first.value.kind !== 'word') return summary('OTHER', undefined);
  let operation = first.value.text.toUpperCase();
  if (!OPERATIONS.has(operation)) return summary('OTHER', undefined);

  let depth = 0;
  // WITH …: what the statement does is its first data-modifying common table expression (`WITH u AS (INSERT INTO
  // users …) SELECT … FROM u` inserts users), else the statement after the expressions.
  if (operation === 'WITH') {
    let body = false;
    for (let t = it.next(); !t.done; t = it.next()) {
      const token = t.value;
      if (token.kind === 'open') {
        body = token.depth === 0;
        continue;
      }
      if (token.kind !== 'word') continue;
      const word = token.text.toUpperCase();
      if (body && token.depth === 1 && MODIFYING_STATEMENTS.has(word)) {
        operation = word;
        depth = 1;
        break;
      }
      body = false;
      if (token.depth === 0 && MAIN_STATEMENTS.has(word)) {
        operation = word;
        break;
      }
    }
    if (operation === 'WITH') return summary('WITH', undefined);
  }
  if (operation === 'START' || operation === 'END') operation = operation === 'START' ? 'BEGIN' : 'COMMIT';

  let collection: string | undefined;
  if (operation === 'UPDATE') collection = tableAt(it, false);
  else if (MAIN_STATEMENTS.has(operation)) {
    const keyword = operation === 'INSERT' || operation === 'MERGE' ? 'INTO' : 'FROM';
    for (let t = it.next(); !t.done; t = it.next()) {
      if (t.value.kind === 'close' && t.value.depth < depth) break;
      if (t.value.kind === 'word' && t.value.depth === depth && t.value.text.toUpperCase() === keyword) {
        collection = tableAt(it, keyword === 'FROM');
        break;
      }
    }
  }
  return summary(operation, collection);
}

function summary(operation: string, collection: string | undefined): StatementSummary {
  return { operation, collection, summary: collection === undefined ? operation : `${operation} ${collection}` };
}
