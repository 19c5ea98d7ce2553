/**
 * A real headless browser for page tests: Debian's chromium-headless-shell (apt; scripts/setup.sh
 * installs it) driven by playwright-core, which downloads no browser of its own.
 *
 *   const browser = await launchBrowser();
 *   const page = await browser.newPage();            // records console errors and page errors
 *   await page.goto(pathToFileURL(file).href);
 *   ... expect(page.errors).toEqual([]) ...
 *   await browser.close();
 *
 * `serveStatic(dir)` serves a folder on 127.0.0.1 for pages that must come over HTTP (fetch, modules).
 */
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as path from 'path';
import { chromium } from 'playwright-core';
import type { Browser as PwBrowser, BrowserContext, Page } from 'playwright-core';

/** Where Debian and Ubuntu put a Chromium; MELSEG_CHROMIUM overrides. */
const CANDIDATES = ['/usr/bin/chromium-headless-shell', '/usr/lib/chromium/headless_shell', '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** Path of the Chromium to drive; a clear error with the install command when there is none. */
export function findChromium(): string {
  const override = process.env.MELSEG_CHROMIUM;
  if (override) {
    if (!fs.existsSync(override)) throw new Error(`MELSEG_CHROMIUM=${override}: no such file. Point it at a Chromium or Chrome binary, or unset it.`);
    return override;
  }
  const found = CANDIDATES.find((p) => fs.existsSync(p));
  if (!found) {
    throw new Error(
      `no headless Chromium found (looked for ${CANDIDATES.join(', ')}). Install it: ` +
        `sudo apt-get install chromium-headless-shell (or run bash scripts/setup.sh), or set MELSEG_CHROMIUM=/path/to/chrome.`,
    );
  }
  return found;
}

/** A page that remembers what went wrong in it: console errors and uncaught exceptions, in order. */
export type CheckedPage = Page & { errors: string[] };

export interface TestBrowser {
  /** A new page in a fresh context (no shared cache or storage) of the given viewport size. */
  newPage(viewport?: { width: number; height: number }): Promise<CheckedPage>;
  close(): Promise<void>;
}

/**
 * `webgpu`: expose WebGPU (--enable-unsafe-webgpu); with no GPU, Chromium's adapter is SwiftShader's
 * (software Vulkan, navigator.gpu.requestAdapter() -> google swiftshader). Without it pages see no adapter.
 */
export async function launchBrowser(o: { webgpu?: boolean } = {}): Promise<TestBrowser> {
  const browser: PwBrowser = await chromium.launch({
    executablePath: findChromium(),
    // Root (CI, containers) cannot use Chromium's sandbox; the pages tested are our own files.
    chromiumSandbox: false,
    args: ['--disable-gpu', '--allow-file-access-from-files', ...(o.webgpu ? ['--enable-unsafe-webgpu'] : [])],
  });
  const contexts: BrowserContext[] = [];
  return {
    async newPage(viewport = { width: 1280, height: 900 }) {
      const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
      contexts.push(context);
      const page = (await context.newPage()) as CheckedPage;
      page.errors = [];
      page.on('console', (m) => {
        if (m.type() === 'error') page.errors.push(`console: ${m.text()}`);
      });
      page.on('pageerror', (e) => page.errors.push(`exception: ${e.message}`));
      return page;
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => undefined);
      await browser.close();
    },
  };
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
};

/**
 * Serves the files under `dir` on 127.0.0.1 (a free port); paths outside `dir` and missing files are 404.
 * Returns the base URL (ending in '/') and a close function.
 */
export async function serveStatic(dir: string): Promise<{ url: string; close(): Promise<void> }> {
  const root = path.resolve(dir);
  const server = http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = path.join(root, rel.endsWith('/') ? rel + 'index.html' : rel);
    if (!file.startsWith(root + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
