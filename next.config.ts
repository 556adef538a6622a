import type { NextConfig } from 'next';

const config: NextConfig = {
  // Database drivers and the embedded Postgres load native/wasm assets at run
  // time; bundling them breaks that, so Node resolves them directly.
  serverExternalPackages: [
    '@electric-sql/pglite',
    'pglite-prisma-adapter',
    '@prisma/client',
    '@prisma/adapter-pg',
    'pg',
  ],
  poweredByHeader: false,
  reactStrictMode: true,
  typescript: { tsconfigPath: 'tsconfig.json' },
  // The agent, tests and benchmarks are not part of the web build.
  outputFileTracingExcludes: { '*': ['agent/native/build/**', 'data/**'] },
};

export default config;
