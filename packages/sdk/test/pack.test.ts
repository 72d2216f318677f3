/**
 * The published package as a user gets it: `npm pack`, installed into an empty folder, used from a plain `.mjs`
 * script and from a TypeScript file (type-checked against the shipped declarations, for Node and for a browser's
 * DOM types) against a real server.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startServer, type TestServer } from '../../server/test/helpers/server.ts';

const run = promisify(execFile);
const SDK_DIR = fileURLToPath(new URL('..', import.meta.url));
const REPO = fileURLToPath(new URL('../../..', import.meta.url));
const TSC = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');

interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string }[];
}

describe('npm pack of @roster/client', () => {
  let server: TestServer;
  let work: string;
  let app: string;
  let packed: PackResult;

  before(async () => {
    server = await startServer();
    work = await mkdtemp(join(tmpdir(), 'roster-sdk-pack-'));
    // prepack builds dist/ with tsc first.
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: SDK_DIR, maxBuffer: 10 * 1024 * 1024 });
    const results = JSON.parse(stdout.slice(stdout.indexOf('['))) as PackResult[];
    packed = results[0]!;
    app = join(work, 'app');
    await run('mkdir', ['-p', app]);
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    await run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', join(work, packed.filename)], { cwd: app });
  });
  after(async () => {
    await server.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('ships the build, the declarations, the README and the licence only, with no runtime dependencies', async (t) => {
    const paths = packed.files.map((f) => f.path).sort();
    t.diagnostic(`tarball ${packed.filename}: ${packed.size} bytes packed, ${packed.unpackedSize} unpacked, ${paths.length} files`);
    assert.ok(paths.includes('dist/index.js') && paths.includes('dist/index.d.ts') && paths.includes('README.md') && paths.includes('LICENSE'), paths.join(', '));
    assert.deepEqual(paths.filter((p) => !p.startsWith('dist/') && !['README.md', 'LICENSE', 'package.json'].includes(p)), []);
    const manifest = JSON.parse(await readFile(join(app, 'node_modules', '@roster', 'client', 'package.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(manifest.dependencies, undefined);
    assert.equal(manifest.type, 'module');
    assert.equal(manifest.sideEffects, false);
  });

  it('works from a .mjs script', async () => {
    await writeFile(
      join(app, 'script.mjs'),
      `import { RosterClient, RosterError } from '@roster/client';
const client = new RosterClient({ url: process.env.ROSTER_URL, apiKey: process.env.ROSTER_API_KEY });
const admin = client.asSuperAdmin();
const reference = 'pack-mjs-' + Date.now();
const { createUser } = await admin.createUser({ user: { reference, email: reference + '@example.com' } });
const { users } = await admin.users({ filter: { reference: { equalTo: reference } }, withTenant: true });
let code;
try { await admin.user(crypto.randomUUID()); } catch (e) { code = e instanceof RosterError ? e.code : 'not a RosterError'; }
console.log(JSON.stringify({ id: createUser.id, found: users.data[0].id, tenant: users.data[0].tenant.name, code }));
`,
    );
    const { stdout } = await run('node', ['script.mjs'], { cwd: app, env: { ...process.env, ROSTER_URL: server.url, ROSTER_API_KEY: server.apiKey } });
    const out = JSON.parse(stdout) as { id: string; found: string; tenant: string; code: string };
    assert.equal(out.found, out.id);
    assert.equal(typeof out.tenant, 'string');
    assert.equal(out.code, 'NOT_FOUND');
  });

  it('works from a TypeScript file, type-checked against the shipped declarations for Node and for browsers', async () => {
    await writeFile(
      join(app, 'main.ts'),
      `import { RosterClient, RosterError, type UserModel } from '@roster/client';
const client = new RosterClient({ url: String(process.env.ROSTER_URL), apiKey: process.env.ROSTER_API_KEY });
const admin = client.asSuperAdmin();
const reference = \`pack-ts-\${Date.now()}\`;
const { createUserGroup } = await admin.createUserGroup({ userGroup: { name: 'Pack', reference } });
const { createUser } = await admin.createUser({ user: { reference, email: \`\${reference}@example.com\` } });
await admin.addUsersToUserGroup({ userGroupId: createUserGroup.id, userIds: [createUser.id] });
const { userGroup } = await admin.userGroup({ id: createUserGroup.id, withUsers: true });
const members: UserModel[] = userGroup.users?.data ?? [];
// @ts-expect-error roles were not asked for
void userGroup.roles;
let code = '';
try { await admin.rest.getUserGroup({ companyId: createUser.tenantId ?? '', groupId: createUser.id }); } catch (e) { if (e instanceof RosterError) code = e.code; }
console.log(JSON.stringify({ members: members.map((m) => m.id), expected: createUser.id, code }));
`,
    );
    // For the DOM-only check: \`process.env\` as a browser bundler would define it.
    await writeFile(join(app, 'env.d.ts'), 'declare const process: { env: Record<string, string | undefined> };\n');
    // The strictest settings an application may use, declarations of the package included (skipLibCheck off).
    const base = {
      target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, exactOptionalPropertyTypes: true,
      noUncheckedIndexedAccess: true, skipLibCheck: false, outDir: 'out',
    };
    await writeFile(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...base, typeRoots: [join(REPO, 'node_modules', '@types')], types: ['node'] }, files: ['main.ts'] }));
    await run('node', [TSC, '-p', 'tsconfig.json'], { cwd: app }).catch((e: { stdout?: string }) => assert.fail(`tsc (node types): ${e.stdout}`));
    // A browser project: DOM types only, no @types/node (process is declared by hand in env.d.ts).
    await writeFile(join(app, 'tsconfig.dom.json'), JSON.stringify({ compilerOptions: { ...base, lib: ['ES2022', 'DOM'], types: [], noEmit: true }, files: ['main.ts', 'env.d.ts'] }));
    await run('node', [TSC, '-p', 'tsconfig.dom.json'], { cwd: app }).catch((e: { stdout?: string }) => assert.fail(`tsc (DOM types): ${e.stdout}`));
    const { stdout } = await run('node', ['out/main.js'], { cwd: app, env: { ...process.env, ROSTER_URL: server.url, ROSTER_API_KEY: server.apiKey } });
    const out = JSON.parse(stdout) as { members: string[]; expected: string; code: string };
    assert.deepEqual(out.members, [out.expected]);
    assert.equal(out.code, 'NOT_FOUND');
  });
});
