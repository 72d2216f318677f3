/**
 * Every GraphQL document `@roq/nodejs@1.0.13` sends for users, user groups, tenants and roles (captured from
 * the SDK's own requests, fragments included) must validate against Roster's schema.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { buildSchema, parse, validate, type DefinitionNode } from 'graphql';
import { schemaSdl } from '../src/transports/graphql/plugin.ts';

const documents = parse(readFileSync(new URL('./fixtures/roq-nodejs-1.0.13.graphql', import.meta.url), 'utf8'));
const schema = buildSchema(schemaSdl);
const fragments = documents.definitions.filter((d) => d.kind === 'FragmentDefinition');
const operations = documents.definitions.filter((d): d is Extract<DefinitionNode, { kind: 'OperationDefinition' }> => d.kind === 'OperationDefinition');

describe('the @roq/nodejs@1.0.13 documents validate against the schema', () => {
  it('has the operations the SDK exposes', () => {
    assert.ok(operations.length >= 20, `only ${operations.length} operations in the fixture`);
  });
  for (const operation of operations) {
    it(`${operation.operation} ${operation.name?.value}`, () => {
      const errors = validate(schema, { kind: documents.kind, definitions: [operation, ...fragments] }).filter(
        // Fragments unused by this operation are fine: the fixture shares them between operations.
        (e) => !/Fragment ".*" is never used/.test(e.message),
      );
      assert.deepEqual(errors.map((e) => e.message), []);
    });
  }
});
