#!/usr/bin/env node
// Writes the model that ships with melseg (models/isic2017.safetensors) from a trained best.ckpt: the
// weights unchanged, no optimizer state, and metadata that says what it is and how to use it:
// meta.inference = the inference settings predict/export apply by default: the ones `melseg train`
// chose on the validation images and stored in best.ckpt, or a named preset (src/infer/settings.ts
// PRESETS); meta.trainedOn / meta.license for the model card. Needs `npm run build` first.
//   node scripts/ship-model.js --checkpoint artifacts/<run>/best.ckpt [--preset raw|best|...] [--out models/isic2017.safetensors]
const path = require('path');
const dist = path.join(__dirname, '..', 'dist');
const { loadCheckpoint, encodeCheckpoint, decodeCheckpoint, firstNonFinite } = require(path.join(dist, 'checkpoint', 'checkpoint'));
const { writeFileAtomic } = require(path.join(dist, 'util', 'atomic'));
const { PRESETS } = require(path.join(dist, 'infer', 'settings'));

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? dflt : process.argv[i + 1];
};
const fail = (message) => {
  console.error(`ship-model: ${message}`);
  process.exit(2);
};
const from = arg('checkpoint');
const out = arg('out', path.join(__dirname, '..', 'models', 'isic2017.safetensors'));
const preset = arg('preset');
if (!from) fail(`usage: node scripts/ship-model.js --checkpoint best.ckpt [--preset ${Object.keys(PRESETS).join('|')}] [--out FILE]`);
if (preset !== undefined && !PRESETS[preset]) fail(`--preset ${preset} is not a preset; expected one of ${Object.keys(PRESETS).join(', ')}`);

let ck;
try {
  ck = loadCheckpoint(from, { optimizer: false });
} catch (e) {
  fail(e.message);
}
const bad = firstNonFinite(ck);
if (bad) fail(`${from}: ${bad.tensor} holds ${bad.value}; not shipping it`);
const inference = preset !== undefined ? { ...PRESETS[preset] } : ck.meta.inference;
if (!inference) fail(`${from} stores no inference settings (trained before melseg chose them); pass --preset best or --preset raw`);
const { dataset, ...meta } = ck.meta;
ck.meta = {
  ...meta,
  inference,
  trainedOn: `ISIC 2017 Part 1 training set (2000 images, 256x256 copy), melseg's split models/isic2017-split.json; see models/isic2017.md`,
  license: 'weights: MIT (melseg); training data: ISIC 2017, CC0 1.0',
};
delete ck.optimizer;
delete ck.trainerState;
// decode the bytes before they replace anything: a model that ships must load, with its settings
const bytes = encodeCheckpoint(ck, out);
const back = decodeCheckpoint(Buffer.concat(bytes), out);
if (firstNonFinite(back) || JSON.stringify(back.meta.inference) !== JSON.stringify(inference)) fail(`${out} would not read back as written; left as it was`);
writeFileAtomic(out, bytes).then(
  () => console.log(`wrote ${out} (${preset ? `preset ${preset}` : 'the settings stored in the checkpoint'}: ${JSON.stringify(inference)}; from ${from}, epoch ${meta.epoch})`),
  (e) => fail(`${e.message}; ${out} was left as it was`),
);
