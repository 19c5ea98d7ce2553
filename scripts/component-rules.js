#!/usr/bin/env node
// Which connected component to keep (the measurement behind "largest component" in --preset best): a
// checkpoint's flips-TTA probabilities at full resolution on one split, thresholded at 0.5, one
// component kept by each rule, holes filled, scored per image; mean, reweighted to the ISIC 2017
// validation mix (labels.csv), images below IoU 0.3, and the paired difference against largest.
// Rules: largest (pixels), mass (sum of probability), central (mass weighted by a centred Gaussian,
// sigma 0.2 or 0.3 of the diagonal), border (mass, a quarter for a component touching the border),
// none (every component). Needs `npm run build`.
//   node scripts/component-rules.js CHECKPOINT DATA SPLIT_FILE [test|valid] [LABELS_CSV]
const D = require('path').join(__dirname, '..', 'dist');
const { openEnsemble } = require(D + '/infer/model');
const { loadRunData, splitIndices } = require(D + '/infer/rundata');
const { forEachFullResolution } = require(D + '/infer/fullres');
const { fillHoles } = require(D + '/infer/postprocess');
const { scoreMask } = require(D + '/infer/scores');
const { readLabels } = require(D + '/data/labels');
const [ck, data, splitFile, which = 'test', labelsFile] = process.argv.slice(2);
if (!splitFile) { console.error('usage: node scripts/component-rules.js CHECKPOINT DATA SPLIT_FILE [test|valid] [LABELS_CSV]'); process.exit(2); }
const N8 = [[-1,-1],[0,-1],[1,-1],[-1,0],[1,0],[-1,1],[0,1],[1,1]];
function label(m, w, h) {
  const lab = new Int32Array(w*h); const comps = []; const st = new Int32Array(w*h);
  for (let s = 0; s < w*h; s++) { if (lab[s] || !m[s]) continue; const id = comps.length+1; let top=0; st[top++]=s; lab[s]=id; const px=[];
    while (top) { const p = st[--top]; px.push(p); const x=p%w, y=(p-x)/w; for (const [dx,dy] of N8) { const nx=x+dx, ny=y+dy; if (nx<0||ny<0||nx>=w||ny>=h) continue; const q=ny*w+nx; if (lab[q]||!m[q]) continue; lab[q]=id; st[top++]=q; } }
    comps.push(px); }
  return comps;
}
function keep(m, prob, w, h, rule) {
  const comps = label(m, w, h); const o = new Uint8Array(w*h); if (!comps.length) return o;
  const cx = (w-1)/2, cy=(h-1)/2, diag = Math.hypot(w, h);
  const score = comps.map((px) => {
    if (rule === 'largest') return px.length;
    let s = 0; for (const p of px) { const x=p%w, y=(p-x)/w; const d = Math.hypot(x-cx, y-cy)/diag; const pr = prob[p];
      s += rule === 'mass' ? pr : rule === 'central' ? pr*Math.exp(-(d*d)/(2*0.2*0.2)) : rule==='central3' ? pr*Math.exp(-(d*d)/(2*0.3*0.3)) : rule==='border' ? (x===0||y===0||x===w-1||y===h-1 ? 0 : pr) : pr; }
    if (rule === 'border') { const touches = px.some((p)=>{const x=p%w,y=(p-x)/w; return x===0||y===0||x===w-1||y===h-1;}); return touches ? 0.25*s : s; }
    return s; });
  let b = 0; for (let k=1;k<score.length;k++) if (score[k]>score[b]) b=k;
  for (const p of comps[b]) o[p]=1; return o;
}
(async () => {
  const net = await openEnsemble(ck, {});
  const rd = await loadRunData({ checkpoint: net.file, meta: net.checkpoint.meta, data, splitFile, needSplit: true, why: '--split' });
  const idx = splitIndices(rd, which);
  const labels = readLabels(labelsFile ?? require(D + '/data/labels').findLabels(data));
  const rules = ['none', 'largest', 'mass', 'central', 'central3', 'border'];
  const rows = [];
  await forEachFullResolution(net.run, rd.dataset, idx, { tta: 'flips', batchSize: 8, truth: rd.truth }, (s) => {
    const m = new Uint8Array(s.width*s.height); for (let i=0;i<m.length;i++) m[i] = s.prob[i] > 0.5 ? 1 : 0;
    const r = { id: s.id, label: labels.get(s.id) };
    for (const rule of rules) { let k = rule === 'none' ? m : keep(m, s.prob, s.width, s.height, rule); k = fillHoles(k, s.width, s.height); r[rule] = scoreMask(k, s.truth.data).iou; }
    rows.push(r);
  });
  const { mixWeights } = require(D + '/infer/summary');
  const { NAMED_MIXES } = require(D + '/data/labels');
  const w = mixWeights(rows.map((r) => r.label), NAMED_MIXES['isic2017-validation']).weights;
  for (const rule of rules) {
    const x = rows.map((r)=>r[rule]); const mean = x.reduce((a,b)=>a+b,0)/x.length; const wm = x.reduce((a,v,i)=>a+v*w[i],0);
    const d = rows.map((r)=>r[rule]-r.largest); const dm = d.reduce((a,b)=>a+b,0)/d.length; const se = Math.sqrt(d.reduce((a,v)=>a+(v-dm)**2,0)/(d.length-1)/d.length);
    const f = x.filter((v)=>v<0.3).length; const fw = x.reduce((a,v,i)=>a+(v<0.3?w[i]:0),0);
    console.log(`${rule.padEnd(9)} mean ${mean.toFixed(4)} reweighted ${wm.toFixed(4)} below0.3 ${f} (rew ${(100*fw).toFixed(1)}%) paired vs largest ${dm>=0?'+':''}${dm.toFixed(4)} ± ${se.toFixed(4)}`);
  }
})().catch((e) => { console.error(e); process.exit(1); });
