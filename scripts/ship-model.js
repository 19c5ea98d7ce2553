#!/usr/bin/env node
// Writes the model that ships with melseg (models/isic2017.safetensors) from a trained best.ckpt: the
// weights unchanged, no optimizer state, and metadata that says what it is and how to use it:
// meta.inference = the inference settings predict/export apply by default (src/infer/settings.ts
// PRESETS), meta.trainedOn / meta.license for the model card. Needs `npm run build` first.
//   node scripts/ship-model.js --checkpoint artifacts/<run>/best.ckpt --preset best [--out models/isic2017.safetensors]
const path = require('path');
const dist = path.join(__dirname, '..', 'dist');
const { loadCheckpoint, saveCheckpoint, firstNonFinite } = require(path.join(dist, 'train', 'checkpoint'));
const { PRESETS } = require(path.join(dist, 'infer', 'settings'));

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? dflt : process.argv[i + 1];
};
const from = arg('checkpoint');
const out = arg('out', path.join(__dirname, '..', 'models', 'isic2017.safetensors'));
const preset = arg('preset', 'best');
if (!from || !PRESETS[preset]) {
  console.error(`usage: node scripts/ship-model.js --checkpoint best.ckpt [--preset ${Object.keys(PRESETS).join('|')}] [--out FILE]`);
  process.exit(2);
}
const ck = loadCheckpoint(from, { optimizer: false });
const bad = firstNonFinite(ck);
if (bad) throw new Error(`${from}: ${bad.tensor} holds ${bad.value}; not shipping it`);
const { dataset, ...meta } = ck.meta;
ck.meta = {
  ...meta,
  inference: { ...PRESETS[preset] },
  trainedOn: `ISIC 2017 Part 1 training set (2000 images, 256x256 copy), melseg's seeded split; see models/isic2017.md`,
  license: 'weights: MIT (melseg); training data: ISIC 2017, CC0 1.0',
};
delete ck.optimizer;
delete ck.trainerState;
saveCheckpoint(out, ck).then(() => console.log(`wrote ${out} (${preset} inference settings; from ${from}, epoch ${meta.epoch})`));
