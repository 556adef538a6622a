import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import { Providers } from './providers.tsx';
import { Nav } from './nav.tsx';
import './globals.css';

export const metadata: Metadata = {
  title: 'SoftUDC console',
  description: 'Virtual farms on ordinary Linux hosts',
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <Providers>
          <Nav />
          <main id="main">{children}</main>
        </Providers>
      </body>
    </html>
  );
}
