import type { NextConfig } from 'next';
import { PHASE_DEVELOPMENT_SERVER } from 'next/constants';

/**
 * Headers of every page and asset. Scripts and styles come from this console
 * only; 'unsafe-inline' because Next.js writes its bootstrap and the page
 * data as inline scripts (nonces would make every page dynamic). No page may
 * be framed (clickjacking), nothing is sniffed into another type, and no
 * URL leaves in a Referer. The dev server also needs eval and its websocket.
 */
function securityHeaders(dev: boolean): { key: string; value: string }[] {
  const csp = [
    "default-src 'self'",
    `script-src 'self' 'unsafe-inline'${dev ? " 'unsafe-eval'" : ''}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    `connect-src 'self'${dev ? ' ws: wss:' : ''}`,
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
  return [
    { key: 'Content-Security-Policy', value: csp },
    { key: 'X-Content-Type-Options', value: 'nosniff' },
    { key: 'Referrer-Policy', value: 'no-referrer' },
    { key: 'X-Frame-Options', value: 'DENY' },
  ];
}

export default function config(phase: string): NextConfig {
  return {
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
    async headers() {
      return [{ source: '/:path*', headers: securityHeaders(phase === PHASE_DEVELOPMENT_SERVER) }];
    },
  };
}
