import { Writable } from 'stream';
import { createProgress, formatDuration } from '../../src/util/progress';

/** A stream that records what was written; `isTTY` as given. */
function sink(isTTY: boolean): Writable & { isTTY: boolean; text: () => string } {
  const chunks: string[] = [];
  const w = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  }) as Writable & { isTTY: boolean; text: () => string };
  w.isTTY = isTTY;
  w.text = () => chunks.join('');
  return w;
}

describe('createProgress in non-TTY mode', () => {
  it('prints a plain line at most every 5 s and a final line on stop()', () => {
    const out = sink(false);
    let t = 0;
    const p = createProgress({ total: 100, label: 'train', unit: 'img', stream: out, now: () => t });
    for (let i = 0; i < 10; i++) {
      t += 1000; // 10 img/s
      p.tick(10, { loss: 0.43125 + i });
    }
    p.stop();
    p.stop(); // idempotent
    expect(out.text().split('\n')).toEqual([
      'train 50/100 img (50%) | 10.0 img/s | ETA 5s | loss=4.431',
      'train 100/100 img (100%) | 10.0 img/s | took 10s | loss=9.431',
      '',
    ]);
  });

  it('writes only the final line for work shorter than the interval, with no escape codes', () => {
    const out = sink(false);
    let t = 0;
    const p = createProgress({ total: 3, label: 'eval', stream: out, now: () => t });
    p.tick();
    t = 1500;
    p.tick(2, { dice: 0.9 });
    p.stop();
    expect(out.text()).toBe('eval 3/3 it (100%) | 2.00 it/s | took 2s | dice=0.9\n');
  });
});

describe('createProgress modes', () => {
  it('silent mode writes nothing but still counts', () => {
    const out = sink(true);
    const p = createProgress({ total: 5, label: 'x', stream: out, silent: true });
    p.tick(3);
    p.stop();
    expect(p.count).toBe(3);
    expect(out.text()).toBe('');
  });

  it('TTY mode draws a cli-progress bar with label, counts, rate and extra fields', () => {
    const out = sink(true);
    const p = createProgress({ total: 4, label: 'epoch 1', unit: 'img', stream: out });
    p.tick(4, { loss: 0.25 });
    p.stop();
    const text = out.text();
    expect(text).toContain('epoch 1 [');
    expect(text).toContain('4/4 img 100%');
    expect(text).toContain('img/s');
    expect(text).toContain('loss=0.25');
  });

  it.each([['lines', false], ['bar', true]])('%s: after stop(), ticks neither count nor draw, and stop() draws once', (_m, tty) => {
    const out = sink(tty);
    let t = 0;
    const p = createProgress({ total: 4, label: 'x', stream: out, now: () => t, intervalMs: 1 });
    t = 1000;
    p.tick(2);
    p.stop();
    const drawn = out.text();
    t = 2000;
    p.tick(1, { loss: 1 });
    p.stop();
    expect([p.count, out.text()]).toEqual([2, drawn]);
    expect(drawn).toContain('2/4');
  });

  it('rejects a negative total', () => {
    expect(() => createProgress({ total: -1, label: 'x' })).toThrow(/total to be a finite number >= 0/);
  });
});

describe('formatDuration', () => {
  it('formats seconds, minutes and hours', () => {
    expect([formatDuration(45.4), formatDuration(185), formatDuration(7620), formatDuration(NaN)]).toEqual(['45s', '3m05s', '2h07m', '?']);
  });
});
