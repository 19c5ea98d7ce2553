import * as vm from 'vm';
import { SORT_SCRIPT } from '../../../src/report/html';

describe('report table sort script (without a browser)', () => {
  /** Just enough DOM for the script: one table, cells with textContent / data-v, click listeners. */
  function fakeTable(values: [string, string][]) {
    const attrs = (init: Record<string, string> = {}) => {
      const a: Record<string, string> = { ...init };
      return {
        getAttribute: (k: string) => (k in a ? a[k] : null),
        setAttribute: (k: string, v: string) => void (a[k] = v),
        removeAttribute: (k: string) => void delete a[k],
        hasAttribute: (k: string) => k in a,
      };
    };
    const heads = ['model', 'best IoU'].map(() => {
      const listeners: (() => void)[] = [];
      return { ...attrs(), addEventListener: (_: string, f: () => void) => listeners.push(f), click: () => listeners.forEach((f) => f()) };
    });
    const rows = values.map(([name, v]) => ({ cells: [{ textContent: name, ...attrs() }, { textContent: v, ...attrs({ 'data-v': v }) }] }));
    const body = {
      rows: [...rows],
      appendChild(tr: (typeof rows)[number]) {
        this.rows.splice(this.rows.indexOf(tr), 1);
        this.rows.push(tr);
      },
    };
    const table = { tHead: { rows: [{ cells: heads }] }, tBodies: [body] };
    const document = { querySelectorAll: () => [table] };
    vm.runInNewContext(SORT_SCRIPT, { document });
    return { heads, order: () => body.rows.map((r) => r.cells[0].textContent) };
  }

  test('clicking a numeric header sorts high-first with blanks last, clicking again reverses', () => {
    const t = fakeTable([
      ['a', '0.5'],
      ['b', ''],
      ['c', '0.9'],
      ['d', '0.7'],
    ]);
    t.heads[1].click();
    expect(t.order()).toEqual(['c', 'd', 'a', 'b']);
    t.heads[1].click();
    expect(t.order()).toEqual(['a', 'd', 'c', 'b']);
    t.heads[0].click();
    expect(t.order()).toEqual(['a', 'b', 'c', 'd']);
  });
});
