/**
 * Rendering Chart.js configurations to PNG in Node (chartjs-node-canvas), with the look every chart
 * shares: a white background, one font, one text colour, and the Okabe-Ito palette (colour-blind safe;
 * its yellow left out: it vanishes on white).
 */
import { ChartJSNodeCanvas } from 'chartjs-node-canvas';
import type { Chart, ChartConfiguration, Plugin } from 'chart.js';

export const PALETTE: readonly string[] = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000'];
export const FONT = 'sans-serif';
export const TEXT = '#222222';

/** Fills the canvas white before Chart.js draws (chartjs-node-canvas leaves it transparent). */
const whiteBackground: Plugin = {
  id: 'melsegWhiteBackground',
  beforeDraw(chart: Chart) {
    const ctx = chart.ctx;
    ctx.save();
    ctx.globalCompositeOperation = 'destination-over';
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, chart.width, chart.height);
    ctx.restore();
  },
};

/** One renderer per size: each ChartJSNodeCanvas loads its own copy of Chart.js (slow), so reuse them. */
const renderers = new Map<string, ChartJSNodeCanvas>();
function renderer(width: number, height: number): ChartJSNodeCanvas {
  const key = `${width}x${height}`;
  let r = renderers.get(key);
  if (!r) {
    r = new ChartJSNodeCanvas({
      width,
      height,
      chartCallback: (ChartJS) => {
        ChartJS.defaults.font.family = FONT;
        ChartJS.defaults.color = TEXT;
        ChartJS.defaults.animation = false;
        ChartJS.defaults.responsive = false;
      },
    });
    renderers.set(key, r);
  }
  return r;
}

/** PNG bytes of `config` drawn on a white width x height canvas. */
export async function render(width: number, height: number, config: ChartConfiguration): Promise<Buffer> {
  config.plugins = [...(config.plugins ?? []), whiteBackground];
  return renderer(width, height).renderToBuffer(config, 'image/png');
}
