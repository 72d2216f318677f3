import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * Permissions (resource + actions) on roles, scopes on group role assignments, and the built-in platform roles.
 * Platform roles have no tenant and fixed ids so every installation agrees on them.
 */
const statements = [
  `ALTER TABLE roles ADD COLUMN permissions jsonb NOT NULL DEFAULT '[]'::jsonb`,
  `ALTER TABLE group_roles ADD COLUMN scope jsonb NOT NULL DEFAULT '{"audiences": []}'::jsonb`,
  `ALTER TABLE user_roles ADD COLUMN scope jsonb NOT NULL DEFAULT '{"audiences": []}'::jsonb`,
  `INSERT INTO roles (id, tenant_id, key, name, description, is_system_managed, permissions) VALUES
     ('00000000-0000-7000-8000-000000000001', NULL, 'company-admin', 'Company administrator',
      'Everything in the company', true,
      '[{"permission":"COMPANY_MANAGEMENT","actions":["ALL"]},{"permission":"USER_MANAGEMENT","actions":["ALL"]},{"permission":"ACCESS_MANAGEMENT","actions":["ALL"]},{"permission":"USER_PROFILE","actions":["ALL"]},{"permission":"REPORT_MANAGEMENT","actions":["ALL"]}]'),
     ('00000000-0000-7000-8000-000000000002', NULL, 'access-manager', 'Access manager',
      'Reads and changes user groups, their members and their roles', true,
      '[{"permission":"ACCESS_MANAGEMENT","actions":["READ","WRITE"]},{"permission":"USER_MANAGEMENT","actions":["READ"]}]'),
     ('00000000-0000-7000-8000-000000000003', NULL, 'user-manager', 'User manager',
      'Reads and changes users', true,
      '[{"permission":"USER_MANAGEMENT","actions":["READ","WRITE"]}]'),
     ('00000000-0000-7000-8000-000000000004', NULL, 'viewer', 'Viewer',
      'Reads users and user groups', true,
      '[{"permission":"USER_MANAGEMENT","actions":["READ"]},{"permission":"ACCESS_MANAGEMENT","actions":["READ"]}]')
   ON CONFLICT DO NOTHING`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}
