/**
 * The pages a newcomer opens first, in a real headless Chromium with every request to a host other than 127.0.0.1
 * blocked (an air-gapped machine): the start page `/`, GraphiQL (its editor renders and runs a query with the API
 * key typed into its headers) and the REST reference `/docs` (its operation list renders).
 *
 * Needs Debian's `chromium` (`apt-get install chromium`; `.ci/run` installs it, or set CHROMIUM_PATH). Without it the
 * test is skipped and says so, unless ROSTER_REQUIRE_BROWSER=1 (set by `.ci/run`), where a missing browser fails.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startServer, type TestServer } from './helpers/server.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available && process.env.ROSTER_REQUIRE_BROWSER === '1') throw new Error(`ROSTER_REQUIRE_BROWSER=1 but there is no Chromium at ${CHROMIUM}`);

describe('the first pages in a browser, offline', { skip: available ? false : `no Chromium at ${CHROMIUM} (apt-get install chromium)` }, () => {
  let server: TestServer;
  let browser: Browser;
  /** Requests the page tried to send anywhere but 127.0.0.1 (all refused). */
  const offsite: string[] = [];
  const pageErrors: string[] = [];

  const open = async (path: string): Promise<Page> => {
    const page = await browser.newPage();
    await page.route('**/*', async (route) => {
      const url = new URL(route.request().url());
      if (url.hostname === '127.0.0.1') return route.continue();
      offsite.push(url.href);
      return route.abort('blockedbyclient');
    });
    page.on('pageerror', (error) => pageErrors.push(`${path}: ${error.message}`));
    const response = await page.goto(`${server.url}${path}`);
    assert.equal(response?.status(), 200, `${path} answers 200`);
    return page;
  };

  before(async () => {
    server = await startServer({ ROSTER_GRAPHIQL: 'true' });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('/ names the server and its version and links every page, each of which answers', async () => {
    const page = await open('/');
    assert.equal(await page.locator('h1').textContent(), 'Roster');
    assert.match((await page.locator('.version').textContent()) ?? '', /^version \d+\.\d+\.\d+/);
    const hrefs = await page.locator('main a').evaluateAll((links) => links.map((a) => a.getAttribute('href')));
    assert.deepEqual(hrefs, ['/graphiql', '/graphql', '/docs', '/openapi.json', '/metrics', '/healthz', '/readyz', '/.well-known/jwks.json']);
    for (const href of hrefs) {
      if (href === '/graphql') continue; // POST only; a browser's GET is sent to GraphiQL
      const res = await fetch(`${server.url}${href}`);
      assert.equal(res.status, 200, `${href} answers 200`);
      await res.arrayBuffer();
    }
    await page.close();
  });

  it('/graphiql renders its editor, prefilled with help and an Authorization template, and runs a query with the key', async () => {
    const page = await open('/graphiql');
    await page.locator('.graphiql-query-editor .CodeMirror').waitFor({ state: 'visible', timeout: 60_000 });
    const editors = () =>
      page.evaluate(() => [...document.querySelectorAll('.CodeMirror')].map((el) => (el as unknown as { CodeMirror: { getValue(): string } }).CodeMirror.getValue()));
    const before = await editors();
    assert.ok(before.some((text) => text.includes("# Welcome to Roster's GraphiQL")), 'the query editor holds the help text');
    assert.ok(before.some((text) => text.includes('"Authorization": "Bearer PASTE_YOUR_API_KEY"')), 'the headers editor holds the template');

    // What a person does: put the key into the headers, run the query.
    await page.evaluate((key) => {
      for (const el of document.querySelectorAll('.CodeMirror')) {
        const editor = (el as unknown as { CodeMirror: { getValue(): string; setValue(text: string): void } }).CodeMirror;
        if (editor.getValue().includes('PASTE_YOUR_API_KEY')) editor.setValue(editor.getValue().replace('PASTE_YOUR_API_KEY', key));
      }
    }, server.apiKey);
    await page.locator('.graphiql-execute-button').click();
    const result = page.locator('.result-window');
    await result.getByText('"isDefault": true').waitFor({ timeout: 30_000 });
    const text = await page.evaluate(() => (document.querySelector('.result-window .CodeMirror') as unknown as { CodeMirror: { getValue(): string } }).CodeMirror.getValue());
    const body = JSON.parse(text) as { data: { tenants: { totalCount: number; data: { isDefault: boolean }[] } } };
    assert.equal(body.data.tenants.totalCount, 1);
    assert.equal(body.data.tenants.data[0]?.isDefault, true);
    await page.close();
  });

  it('/docs renders the REST reference with its operation list', async () => {
    const page = await open('/docs');
    await page.locator('.opblock').first().waitFor({ state: 'visible', timeout: 60_000 });
    assert.equal(await page.title(), 'Roster · REST reference');
    const paths = await page.locator('.opblock-summary-path').allTextContents();
    const normalized = paths.map((p) => p.replace(/\u200b/g, ''));
    assert.ok(normalized.length >= 20, `the reference lists the operations (found ${normalized.length})`);
    assert.ok(normalized.includes('/v3/companies/list'), 'POST /v3/companies/list is listed');
    assert.ok(normalized.includes('/v3/companies/{companyId}/user-groups/list'), 'the user-groups listing is listed');
    await page.close();
  });

  it('no page tried to reach another host, and none threw', () => {
    assert.deepEqual(offsite, []);
    assert.deepEqual(pageErrors, []);
  });
});
