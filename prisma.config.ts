// Prisma CLI configuration (Prisma 7: the URL lives here, not in the schema).
// The console itself never runs the Prisma migrate engine: server/db/migrate.ts
// applies prisma/migrations in order and records them in _prisma_migrations.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/softudc' },
});
