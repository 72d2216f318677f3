/**
 * The real entry point as `npm start` runs it, on an embedded PGlite data directory: first start generates and
 * prints a key once, SIGTERM shuts down cleanly, and the data and the key survive a restart.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gql } from './helpers/server.ts';

const serverDir = new URL('..', import.meta.url).pathname;

interface Running {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
}

/**
 * Starts `npm start`'s entry point on a random port below Linux's ephemeral range (32768+, where outgoing
 * connections of this machine take their local ports), and on another one if the port is taken after all.
 */
async function start(dataDir: string, env: Record<string, string> = {}, entry = TSX_ENTRY): Promise<Running> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(dataDir, env, 20000 + Math.floor(Math.random() * 12000), entry);
    } catch (e) {
      if (attempt >= 5 || !(e instanceof Error) || !e.message.includes('EADDRINUSE')) throw e;
    }
  }
}

const TSX_ENTRY = ['--import', 'tsx', 'src/main.ts'];

async function startOnce(dataDir: string, env: Record<string, string>, port: number, entry: readonly string[]): Promise<Running> {
  const environment: Record<string, string | undefined> = { ...process.env };
  delete environment.DATABASE_URL;
  delete environment.ROSTER_API_KEY;
  Object.assign(environment, { ROSTER_DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env });
  const child = spawn(process.execPath, entry, { cwd: serverDir, env: environment, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  // Up to 60 s: a first start on a busy 2-core machine (initdb of PGlite, migrations) can take 15 s and more.
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(`${url}/readyz`)).ok) return { child, url, output: () => output, exited };
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`server did not become ready:\n${output}`);
}

describe('npm start on an embedded data directory', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('prints a generated key once, survives SIGTERM with its data, and keeps the key', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'roster-lifecycle-'));
    dirs.push(dataDir);

    const first = await start(dataDir);
    const key = /rk_[A-Za-z0-9_-]{20,}/.exec(first.output())?.[0];
    assert.ok(key, `no generated key printed:\n${first.output()}`);
    const created = await gql<{ createUser: { id: string } }>(
      { url: first.url, apiKey: key },
      'mutation { createUser(user: { reference: "survivor", email: "survivor@example.com" }) { id } }',
    );
    assert.ok(created.data?.createUser.id);
    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0, first.output());
    assert.match(first.output(), /database closed/);
    // The key was printed to stdout once and never into a log line.
    assert.equal(first.output().split(key).length - 1, 1);

    const second = await start(dataDir);
    assert.doesNotMatch(second.output(), /rk_[A-Za-z0-9_-]{20,}/, 'the key must not be printed again');
    const found = await gql<{ users: { totalCount: number } }>(
      { url: second.url, apiKey: key },
      '{ users(filter: { reference: { equalTo: "survivor" } }) { totalCount } }',
    );
    assert.equal(found.data?.users.totalCount, 1);
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0, second.output());
  });

  it('SIGTERM in the middle of writes: every acknowledged write survives and the directory opens again', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'roster-sigterm-'));
    dirs.push(dataDir);
    const env = { ROSTER_API_KEY: 'lifecycle-test-key-0123456789' };
    const first = await start(dataDir, env);
    const server = { url: first.url, apiKey: env.ROSTER_API_KEY };
    const acknowledged: string[] = [];
    let stop = false;
    const writer = async (w: number) => {
      for (let i = 0; !stop && i < 400; i++) {
        const reference = `w${w}-${i}`;
        try {
          const res = await gql<{ createUser: { id: string } }>(
            server,
            'mutation($u: UserCreateDto!) { createUser(user: $u) { id } }',
            { u: { reference, email: `${reference}@example.com` } },
          );
          if (res.data?.createUser.id) acknowledged.push(reference);
        } catch {
          return; // the server has gone away: this write was never acknowledged
        }
      }
    };
    const writers = [0, 1, 2, 3].map(writer);
    const deadline = Date.now() + 20_000;
    while (acknowledged.length < 30 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.ok(acknowledged.length >= 30, `writes were not acknowledged:\n${first.output()}`);
    first.child.kill('SIGTERM');
    const code = await first.exited;
    stop = true;
    await Promise.all(writers);
    assert.equal(code, 0, first.output());

    const second = await start(dataDir, env);
    const found = await gql<{ users: { totalCount: number; data: { reference: string }[] } }>(
      { url: second.url, apiKey: env.ROSTER_API_KEY },
      'query($refs: [String!]) { users(filter: { reference: { valueIn: $refs } }, limit: 1000) { totalCount data { reference } } }',
      { refs: acknowledged },
    );
    assert.equal(found.data?.users.totalCount, acknowledged.length, 'every acknowledged write is there');
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0, second.output());
  });

  it('a second process on the same data directory refuses to start; the first keeps serving', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'roster-lock-'));
    dirs.push(dataDir);
    const env = { ROSTER_API_KEY: 'lifecycle-test-key-0123456789' };
    const first = await start(dataDir, env);
    const environment: Record<string, string | undefined> = { ...process.env, ROSTER_DATA_DIR: dataDir, PORT: '0', ...env };
    delete environment.DATABASE_URL;
    const second = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: serverDir, env: environment, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    second.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => second.on('exit', resolve));
    assert.equal(code, 2, stderr);
    assert.match(stderr, new RegExp(`in use by process ${first.child.pid}`));
    const res = await gql<{ createUser: { id: string } }>(
      { url: first.url, apiKey: env.ROSTER_API_KEY },
      'mutation { createUser(user: { reference: "still-here", email: "still-here@example.com" }) { id } }',
    );
    assert.ok(res.data?.createUser.id, JSON.stringify(res.errors));
    // A killed holder leaves its lock behind; the next start takes it over.
    first.child.kill('SIGKILL');
    await first.exited;
    const third = await start(dataDir, env);
    const found = await gql<{ users: { totalCount: number } }>(
      { url: third.url, apiKey: env.ROSTER_API_KEY },
      '{ users(filter: { reference: { equalTo: "still-here" } }) { totalCount } }',
    );
    assert.equal(found.data?.users.totalCount, 1);
    third.child.kill('SIGTERM');
    assert.equal(await third.exited, 0, third.output());
  });

  it('refuses to start in production without ROSTER_API_KEY, with a clear message', async () => {
    const environment: Record<string, string | undefined> = { ...process.env, NODE_ENV: 'production', ROSTER_DATA_DIR: 'memory://' };
    delete environment.ROSTER_API_KEY;
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: serverDir, env: environment, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 2);
    assert.match(stderr, /ROSTER_API_KEY is required/);
  });
});

describe('the bundle npm run build makes (npm run start:built)', () => {
  it('is started from the repository root like npm start, so both open the same ./data', async () => {
    const { scripts } = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
    // npm runs a root script in the root; a script handed to a workspace (-w) would run in packages/server instead.
    assert.equal(scripts.start, 'node --import tsx packages/server/src/main.ts');
    assert.equal(scripts['start:built'], 'node packages/server/dist/bundle/roster.mjs');
  });

  it('serves the data npm start wrote, GraphQL, REST, the start page, GraphiQL with its assets, the API reference and the schemas', async () => {
    // Inside the package, so the packages left out of the bundle (PGlite, Swagger UI) resolve from node_modules.
    const outdir = await mkdtemp(join(serverDir, 'dist-bundle-test-'));
    const dataDir = await mkdtemp(join(tmpdir(), 'roster-bundle-'));
    try {
      const bundler = spawn(process.execPath, ['--import', 'tsx', '../../scripts/bundle-server.ts', '--outdir', outdir], { cwd: serverDir, stdio: ['ignore', 'pipe', 'pipe'] });
      let bundlerOutput = '';
      bundler.stdout.on('data', (d: Buffer) => (bundlerOutput += d.toString()));
      bundler.stderr.on('data', (d: Buffer) => (bundlerOutput += d.toString()));
      assert.equal(await new Promise<number | null>((resolve) => bundler.on('exit', resolve)), 0, bundlerOutput);

      const apiKey = 'bundle-test-key-0123456789abcdef';
      // What `npm start` wrote, the bundle reads: same data directory, same key.
      const fromSource = await start(dataDir, { ROSTER_API_KEY: apiKey });
      const written = await gql<{ createUser: { id: string } }>(
        { url: fromSource.url, apiKey },
        'mutation { createUser(user: { reference: "from-source", email: "from-source@example.com" }) { id } }',
      );
      fromSource.child.kill('SIGTERM');
      assert.equal(await fromSource.exited, 0, fromSource.output());

      const running = await start(dataDir, { ROSTER_API_KEY: apiKey, ROSTER_METRICS: 'true' }, [join(outdir, 'roster.mjs')]);
      try {
        const read = await gql<{ users: { data: { id: string }[] } }>({ url: running.url, apiKey }, '{ users(filter: { reference: { equalTo: "from-source" } }) { data { id } } }');
        assert.deepEqual(read.data?.users.data, [{ id: written.data!.createUser.id }], JSON.stringify(read));
        // GraphiQL and every file its page loads come from the server itself (node_modules beside the bundle).
        const graphiql = await fetch(`${running.url}/graphiql`);
        assert.equal(graphiql.status, 200);
        const sources = [...(await graphiql.text()).matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
        assert.equal(sources.length, 6, sources.join(', '));
        for (const source of sources) {
          const asset = await fetch(`${running.url}${source}`);
          assert.equal(asset.status, 200, source);
          // Read to the end: an unread answer keeps its connection busy, and shutdown waits for it.
          assert.ok((await asset.arrayBuffer()).byteLength > 0, source);
        }
        const index = (await (await fetch(running.url, { headers: { accept: 'application/json' } })).json()) as { version: string; links: Record<string, string> };
        assert.match(index.version, /^\d+\.\d+\.\d+/);
        assert.equal(index.links.graphiql, '/graphiql');
        const created = await gql<{ createUser: { id: string; email: string } }>(
          { url: running.url, apiKey },
          'mutation { createUser(user: { reference: "bundled", email: "bundled@example.com" }) { id email } }',
        );
        assert.equal(created.data?.createUser.email, 'bundled@example.com', JSON.stringify(created));
        const found = await gql<{ users: { data: { id: string }[] } }>({ url: running.url, apiKey }, '{ users(filter: { reference: { equalTo: "bundled" } }) { data { id } } }');
        assert.deepEqual(found.data?.users.data, [{ id: created.data!.createUser.id }]);
        // A REST route's request schema (compiled on first use) refuses bad input with the field named.
        const tenant = (await gql<{ tenants: { data: { id: string }[] } }>({ url: running.url, apiKey }, '{ tenants { data { id } } }')).data!.tenants.data[0]!.id;
        const bad = await fetch(`${running.url}/v3/companies/${tenant}/user-groups`, {
          method: 'POST',
          headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ name: 42 }),
        });
        assert.equal(bad.status, 400);
        assert.match(JSON.stringify(await bad.json()), /BAD_USER_INPUT.*name/);
        const docs = await fetch(`${running.url}/docs/`);
        assert.equal(docs.status, 200);
        assert.match(await docs.text(), /Roster · REST reference/);
        const openapi = (await (await fetch(`${running.url}/openapi.json`)).json()) as { openapi: string };
        assert.equal(openapi.openapi, '3.1.0');
        const metrics = await fetch(`${running.url}/metrics`, { headers: { authorization: `Bearer ${apiKey}` } });
        assert.match(await metrics.text(), /roster_info\{database="pglite",version="\d+\.\d+\.\d+"\} 1/);
      } finally {
        running.child.kill('SIGTERM');
        assert.equal(await running.exited, 0, running.output());
      }
      assert.doesNotMatch(running.output(), /failed to compile/);
    } finally {
      await rm(outdir, { recursive: true, force: true });
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('embedded database in production', () => {
  it('refuses to start without DATABASE_URL unless the no-fsync risk is accepted', async () => {
    const run = async (extra: Record<string, string>) => {
      const environment: Record<string, string | undefined> = { ...process.env, NODE_ENV: 'production', ROSTER_API_KEY: 'lifecycle-test-key-0123456789', ROSTER_DATA_DIR: 'memory://', PORT: '0', ...extra };
      delete environment.DATABASE_URL;
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: serverDir, env: environment, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      const listening = new Promise<'listening'>((resolve) => child.stdout.on('data', () => output.includes('Roster listening') && resolve('listening')));
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      const outcome = await Promise.race([listening, exited]);
      child.kill('SIGTERM');
      await exited;
      return { outcome, output };
    };
    const refused = await run({});
    assert.equal(refused.outcome, 2, refused.output);
    assert.match(refused.output, /NODE_ENV=production needs DATABASE_URL.*ROSTER_ALLOW_EMBEDDED_IN_PRODUCTION/s);
    const accepted = await run({ ROSTER_ALLOW_EMBEDDED_IN_PRODUCTION: 'true' });
    assert.equal(accepted.outcome, 'listening', accepted.output);
  });
});
