import Papa from 'papaparse';
import { perImageCsv, type CsvSettings, type ImageScore } from '../../src/infer/csv';

const settings: CsvSettings = { split: 'test', tta: 'none', threshold: 0.5, largestComponent: false, fillHoles: false, origin: 'raw', checkpoints: ['best.ckpt'], sha256: ['ab'] };

const row = (id: string): ImageScore => ({ id, width: 40, height: 30, iou: 0.5, dice: 0.6, accuracy: 0.9, sensitivity: 0.7, specificity: 0.95, tp: 5, fp: 2, fn: 3, tn: 1190 });

describe('perImageCsv', () => {
  it('quotes a file name with a comma or a quote (RFC 4180), so every row keeps its columns', () => {
    const text = perImageCsv([row('lesion,1'), row('say "hi"'), row('plain')], settings);
    const lines = text.trimEnd().split('\n');
    const tail = ',test,none,0.5,false,false,raw,best.ckpt,ab';
    expect(lines[0]).toBe('id,width,height,iou,dice,accuracy,sensitivity,specificity,tp,fp,fn,tn,split,tta,threshold,largest_component,fill_holes,settings,checkpoint,checkpoint_sha256');
    expect(lines[1]).toBe('"lesion,1",40,30,0.5,0.6,0.9,0.7,0.95,5,2,3,1190' + tail);
    expect(lines[2]).toBe('"say ""hi""",40,30,0.5,0.6,0.9,0.7,0.95,5,2,3,1190' + tail);
    const back = Papa.parse<string[]>(text.trimEnd()).data;
    expect(back.map((r) => r[0])).toEqual(['id', 'lesion,1', 'say "hi"', 'plain']);
    expect(back.every((r) => r.length === 20)).toBe(true);
  });

  it('neutralises text cells a spreadsheet would run as a formula', () => {
    const text = perImageCsv(['=HYPERLINK("x")', '+1', '-2', '@SUM(A1)'].map(row), settings);
    const ids = Papa.parse<string[]>(text.trimEnd()).data.slice(1).map((r) => r[0]);
    expect(ids).toEqual(["'=HYPERLINK(\"x\")", "'+1", "'-2", "'@SUM(A1)"]);
    for (const id of ids) expect(id).not.toMatch(/^[=+\-@]/);
  });
});
