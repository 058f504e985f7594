import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

// JSX is compiled by Vite's own transformer (automatic runtime); no React plugin is needed for a
// production build, and none of the dev-server features are used.
export default defineConfig({
  root: here('.'),
  base: '/',
  publicDir: false,
  logLevel: 'warn',
  build: {
    outDir: here('../dist/console'),
    emptyOutDir: true,
    // The preload helper would be injected as an inline script otherwise (the CSP forbids inline scripts).
    modulePreload: false,
    sourcemap: false,
    chunkSizeWarningLimit: 2000,
    reportCompressedSize: false,
  },
});
