import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { resizeBilinear, toTensor, type Image } from '../../src/data';
import { exportCheckpoint, exportModel } from '../../src/export';
import { loadWeights, openNetwork } from '../../src/infer/model';
import { MODELS } from '../../src/models';
import { saveCheckpointSync } from '../../src/checkpoint/checkpoint';
import { lesionImage, S, saveRandom } from './fixtures';
import { oracleTest, PY } from '../helpers/oracle';


const root = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-export-model-'));
const graphsDir = path.join(root, 'graphs');
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** Two lesion-like images resized to S x S, as 8-bit values. */
const images: Image[] = [lesionImage(S, S, 1), lesionImage(S, S, 2)].map((im) => resizeBilinear(im, S));
const plane = 3 * S * S;

/** The exported model's input: value / 255, CHW. */
function unitBatch(): Float32Array {
  const x = new Float32Array(images.length * plane);
  images.forEach((im, b) => im.data.forEach((v, i) => (x[b * plane + (i % 3) * S * S + Math.floor(i / 3)] = v / 255)));
  return x;
}

async function runExport(bytes: Uint8Array): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(bytes);
  return (await session.run({ image: new ort.Tensor('float32', unitBatch(), [images.length, 3, S, S]) })).probability;
}

/** What `melseg predict` and `evaluate` compute on the same weights: the inference graph, normalised input. */
async function runInferenceGraph(ckpt: string): Promise<Float32Array> {
  const net = await openNetwork(ckpt, { graphsDir });
  const x = new Float32Array(images.length * plane);
  images.forEach((im, b) => toTensor(im, x, b * plane));
  return net.run(x, images.length);
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
};

/**
 * Folding changes only float32 rounding: each folded weight is rounded once, the normalisation runs
 * in the graph instead of in JS. A conv layer's output carries ~sqrt(K) 2^-24 ~ 3e-6 relative error
 * (K <= 9 x 256 terms); through ~25 layers that is at most ~8e-5 of the logits (|logit| < 4 here),
 * and a probability moves by at most a quarter of its logit's change: about 2e-5, so 1e-4. Measured
 * on this machine: 1e-7 to 2e-6. The test below shows a real difference in one layer is far larger.
 */
const TOL = 1e-4;

describe('the exported model', () => {
  test.each(MODELS.map((m) => [m.name, m.id]))('%s: the probabilities of the inference graph on the same weights, from one input and one output', async (_name, model) => {
    const ckpt = saveRandom(path.join(root, `m${model}.ckpt`), model);
    const e = exportModel(ckpt);
    expect(e.ops).not.toContain('BatchNormalization');
    const session = await ort.InferenceSession.create(e.bytes);
    expect([session.inputNames, session.outputNames]).toEqual([['image'], ['probability']]);
    const got = await runExport(e.bytes);
    expect(got.dims).toEqual([2, 1, S, S]);
    const want = await runInferenceGraph(ckpt);
    expect(maxAbsDiff(got.data as Float32Array, want)).toBeLessThan(TOL);

    // the comparison can fail: BatchNorm means of one layer (conv3.1) off by 0.1, a third of their
    // spread; EGE-UNet has no BatchNorm: the bias of one GroupNorm (ebn3) off by 0.1
    const { checkpoint } = loadWeights(ckpt);
    const moved = checkpoint.params['conv3.1.running_mean'] ?? checkpoint.params['ebn3.bias'];
    (moved.data as Float32Array).forEach((v, i, a) => (a[i] = v + 0.1));
    saveCheckpointSync(path.join(root, `m${model}-off.ckpt`), checkpoint);
    const off = await runExport(exportModel(path.join(root, `m${model}-off.ckpt`)).bytes);
    expect(maxAbsDiff(off.data as Float32Array, want)).toBeGreaterThan(2 * TOL);
  });

  test('--fp16 halves the file; its probabilities move by the weights\' float16 rounding only', async () => {
    const ckpt = saveRandom(path.join(root, 'half.ckpt'), 1);
    const full = exportModel(ckpt);
    const half = exportModel(ckpt, { fp16: true });
    expect(half.bytes.length / full.bytes.length).toBeGreaterThan(0.45);
    expect(half.bytes.length / full.bytes.length).toBeLessThan(0.55);
    // each weight off by <= 2^-11 = 4.9e-4 relative; errors of ~25 layers adding up in the worst case
    // give 1.2e-2 of the logits (|logit| < 4), a quarter of that in probability (measured: 1.4e-3)
    const d = maxAbsDiff((await runExport(half.bytes)).data as Float32Array, (await runExport(full.bytes)).data as Float32Array);
    expect(d).toBeLessThan(1.2e-2);
    expect(d).toBeGreaterThan(0);
  });

  oracleTest('onnx')('passes the official ONNX checker with full shape inference, and says what it is in metadata_props', async () => {
    const ckpt = saveRandom(path.join(root, 'checked', 'best.ckpt'), 3, { meta: { recipe: 'melseg', epoch: 7, bestMetric: 0.71, inference: { tta: 'flips', largestComponent: true, fillHoles: false, threshold: 0.45 } } });
    const files = [path.join(root, 'checked', 'model.onnx'), path.join(root, 'checked', 'model-fp16.onnx')];
    await exportCheckpoint({ checkpoint: ckpt, out: files[0] });
    await exportCheckpoint({ checkpoint: ckpt, out: files[1], fp16: true, inference: { preset: 'raw' } });
    const script = [
      'import json, onnx, sys',
      'out = []',
      'for f in sys.argv[1:]:',
      '    m = onnx.load(f)',
      '    onnx.checker.check_model(m, full_check=True)',
      '    onnx.shape_inference.infer_shapes(m, check_type=True, strict_mode=True)',
      '    io = lambda vs: [(v.name, [d.dim_value or d.dim_param for d in v.type.tensor_type.shape.dim]) for v in vs]',
      '    out.append({"opset": [o.version for o in m.opset_import if o.domain == ""], "inputs": io(m.graph.input), "outputs": io(m.graph.output),',
      '                "meta": {p.key: p.value for p in m.metadata_props}})',
      'print(json.dumps(out))',
    ].join('\n');
    const [full, half] = JSON.parse(execFileSync(PY, ['-c', script, ...files]).toString());
    expect(full.opset).toEqual([17]);
    expect(full.inputs).toEqual([['image', ['N', 3, S, S]]]);
    expect(full.outputs).toEqual([['probability', ['N', 1, S, S]]]);
    expect(full.meta).toMatchObject({ model: 'UNet_dilate', model_id: '3', loss: 'dice_loss', image_size: String(S), width: '0.0625', recipe: 'melseg', epoch: '7', valid_iou: '0.71', inference_origin: 'the checkpoint' });
    expect(JSON.parse(full.meta.inference)).toEqual({ tta: 'flips', largestComponent: true, fillHoles: false, threshold: 0.45 });
    expect(half.meta).toMatchObject({ inference_origin: 'preset raw', weights: 'float16 initializers cast to float32 (computation in float32)' });
    expect(JSON.parse(half.meta.inference)).toEqual({ tta: 'none', largestComponent: false, fillHoles: false, threshold: 0.5 });
  });
});

describe('melseg export\'s inputs', () => {
  const ckpt = () => saveRandom(path.join(root, 'in', 'best.ckpt'), 1);

  test('without --checkpoint: the model that ships with melseg, or an error that says what to pass', async () => {
    const pkg = path.join(root, 'pkg');
    const shipped = path.join(pkg, 'models', 'isic2017.safetensors');
    await expect(exportCheckpoint({ out: path.join(root, 'x.onnx'), packageRoot: pkg })).rejects.toThrow(
      `no --checkpoint given, and the model that ships with melseg (${shipped}) is not installed; pass --checkpoint artifacts/<run>/best.ckpt (melseg train writes one)`,
    );
    fs.mkdirSync(path.dirname(shipped), { recursive: true });
    fs.copyFileSync(ckpt(), shipped);
    const r = await exportCheckpoint({ out: path.join(root, 'shipped.onnx'), packageRoot: pkg });
    expect([r.checkpoint, r.model.config.model.name, fs.statSync(path.join(root, 'shipped.onnx')).size]).toEqual([shipped, 'UNet', r.model.bytes.length]);
  });

  test.each([
    ['nothing to write', {}, 'export: nothing to write; give --out model.onnx (the model file), --web DIR (a page that segments in the browser), or both'],
    ['--out names a folder', { out: os.tmpdir() }, `--out ${os.tmpdir()} is a folder; expected a file name, e.g. --out ${path.join(os.tmpdir(), 'model.onnx')}`],
    ['--web names a file', { web: __filename }, `--web ${__filename} is a file; expected a folder for the page (created if missing), e.g. --web ${__filename}-page`],
    ['--threshold auto', { out: path.join(root, 'auto.onnx'), inference: { threshold: 'auto' as const } }, '--threshold auto picks the threshold on the run\'s validation images, which export does not read: give a number, e.g. --threshold 0.5'],
    ['a missing checkpoint', { checkpoint: path.join(root, 'nope.ckpt'), out: path.join(root, 'n.onnx') }, `checkpoint ${path.join(root, 'nope.ckpt')} does not exist; train one with \`melseg train\``],
  ])('refuses %s with a message that says what to do', async (_n, o, message) => {
    await expect(exportCheckpoint({ checkpoint: ckpt(), ...o })).rejects.toThrow(message);
  });
});
