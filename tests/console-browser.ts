import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** The distribution's Chromium (Debian: apt-get install chromium); playwright-core downloads nothing. */
export const CHROMIUM = process.env.SLM_CHROMIUM ?? '/usr/bin/chromium';
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export type ConsoleBrowser = {
  context: BrowserContext;
  page: Page;
  /** Content-Security-Policy refusals the browser reported so far. */
  cspViolations: string[];
  /** Saves the viewport, or with `fullPage` the whole scrolled page. */
  screenshot(name: string, fullPage?: boolean): Promise<void>;
  /** axe-core on the current page: serious or critical violations as "rule: target" lines. */
  accessibilityViolations(): Promise<string[]>;
  close(): Promise<void>;
};

/**
 * Headless Chromium with a fresh profile, trusting nothing but told to ignore the test server's
 * self-issued certificate, allowed to use the clipboard. Screenshots go to SLM_CONSOLE_SCREENSHOTS
 * (docs/console to refresh the README's) or a temporary directory.
 */
export async function openConsoleBrowser(opts: { width?: number; height?: number } = {}): Promise<ConsoleBrowser> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'slm-chromium-'));
  const shots = process.env.SLM_CONSOLE_SCREENSHOTS ?? path.join(os.tmpdir(), 'slm-console-screenshots');
  mkdirSync(shots, { recursive: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    ignoreHTTPSErrors: true,
    viewport: { width: opts.width ?? 1280, height: opts.height ?? 800 },
    permissions: ['clipboard-read', 'clipboard-write'],
    reducedMotion: 'reduce',
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15_000);
  const cspViolations: string[] = [];
  page.on('console', (msg) => {
    if (/Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text());
  });
  return {
    context,
    page,
    cspViolations,
    screenshot: async (name, fullPage = false) => {
      await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage });
    },
    accessibilityViolations: async () => {
      // Evaluated through the DevTools protocol, which the page's CSP does not govern (an injected <script> it would).
      await page.evaluate(AXE_SOURCE);
      const violations = await page.evaluate(async () => {
        const axe = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } }).axe;
        const result = await axe.run(document, { resultTypes: ['violations'] });
        return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
      });
      return violations;
    },
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
