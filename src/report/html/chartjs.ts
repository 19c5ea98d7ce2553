/**
 * Chart.js's UMD build, read from the installed `chart.js` package, for inlining into report.html: the
 * page then draws its charts offline, as one file, with no CDN.
 */
import * as fs from 'fs';
import * as path from 'path';

let cached: string | null = null;

/** The source of chart.umd.js, safe to put inside a <script> element. */
export function chartJsSource(): string {
  if (cached !== null) return cached;
  // The package's exports map hides dist/chart.umd.js from require.resolve; it sits beside the CommonJS entry.
  const file = path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.js');
  let src: string;
  try {
    src = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(
      `cannot read Chart.js's browser build ${file} (${(e as NodeJS.ErrnoException).code ?? e}); report.html inlines it. ` +
        `Reinstall the node modules: npm ci`,
    );
  }
  // "</script" inside the code would end the element early; "<\/script" means the same to JavaScript.
  cached = src.replace(/<\/script/gi, '<\\/script');
  return cached;
}
