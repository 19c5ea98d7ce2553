import { spawnSync } from 'child_process';
import * as fs from 'fs';
import { LOSSES } from '../../src/losses';
import * as os from 'os';
import * as path from 'path';
import { ReduceLROnPlateau } from '../../src/optim/plateau';
import {
  checkCompatible,
  decodeCheckpoint,
  encodeCheckpoint,
  firstNonFinite,
  loadCheckpoint,
  readCheckpointHeader,
  saveCheckpoint,
  saveCheckpointSync,
  type Checkpoint,
  type CheckpointMeta,
} from '../../src/checkpoint/checkpoint';
import { decodeSafetensors, encodeSafetensors, encodeSafetensorsHeader } from '../../src/checkpoint/safetensors';
import { Rng } from '../../src/data/rng';
import { oracleTest, PY } from '../helpers/oracle';

const itTorch = oracleTest('torch, numpy');

/** state_dict of torch.nn.Sequential(Conv2d(3, 4, 3), BatchNorm2d(4)), seeded values. */
function tinyCheckpoint(seed = 1): Checkpoint {
  const r = Rng.derive(seed);
  const f = (shape: number[]) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return { dtype: 'float32' as const, shape, data: Float32Array.from({ length: n }, () => r.normal()) };
  };
  const params: Checkpoint['params'] = {
    '0.weight': f([4, 3, 3, 3]),
    '0.bias': f([4]),
    '1.weight': f([4]),
    '1.bias': f([4]),
    '1.running_mean': f([4]),
    '1.running_var': { dtype: 'float32', shape: [4], data: Float32Array.of(1, 2, 3, 4) },
    '1.num_batches_tracked': { dtype: 'int64', shape: [], data: BigInt64Array.of(37n) },
  };
  const trainable = ['0.weight', '0.bias', '1.weight', '1.bias'];
  const moments = (scale: number) =>
    Object.fromEntries(trainable.map((k) => [k, Float32Array.from(params[k].data as Float32Array, (x) => scale * x * x)]));
  const meta: CheckpointMeta = { model: 3, modelName: 'UNet_dilate', loss: 2, lossName: 'dice_loss', imageSize: 128, width: 0.25, epoch: 7, step: 700, bestMetric: 0.8123, runId: 'r1' };
  const sched = new ReduceLROnPlateau(1e-3);
  sched.step(0.5);
  return {
    meta,
    params,
    optimizer: { step: 700, m: moments(0.1), v: moments(0.01) },
    trainerState: { scheduler: sched.state(), rng: Rng.derive(5).getState(), history: [{ epoch: 1, dice: 0.5 }] },
  };
}

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-ckpt-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('saveCheckpoint / loadCheckpoint', () => {
  it('round-trips meta, params (incl. int64 num_batches_tracked), optimizer moments and trainer state', async () => {
    const ck = tinyCheckpoint();
    const file = path.join(dir, 'run', 'last.ckpt');
    await saveCheckpoint(file, ck);
    const back = loadCheckpoint(file);
    expect(back.meta).toEqual(ck.meta);
    expect(back.params).toEqual(ck.params);
    expect(back.optimizer).toEqual(ck.optimizer);
    expect(back.trainerState).toEqual(ck.trainerState);
    expect(back.source).toBe(file);
    // the scheduler resumes from the stored state
    const s = ReduceLROnPlateau.fromState((back.trainerState as { scheduler: never }).scheduler);
    expect(s.bestMetric).toBe(0.5);
  });

  it('stores one safetensors file: state_dict names, __optim__.m/v.<name> with the param shape, string metadata', () => {
    const file = path.join(dir, 'best.ckpt');
    saveCheckpointSync(file, tinyCheckpoint());
    const { tensors, metadata } = decodeSafetensors(fs.readFileSync(file), file);
    expect(Object.keys(tensors).filter((k) => !k.startsWith('__optim__.'))).toEqual(
      ['0.bias', '0.weight', '1.bias', '1.num_batches_tracked', '1.running_mean', '1.running_var', '1.weight'],
    );
    expect(tensors['__optim__.m.0.weight'].shape).toEqual([4, 3, 3, 3]);
    expect(tensors['__optim__.v.1.bias'].dtype).toBe('float32');
    expect(metadata.format).toBe('pt');
    expect(JSON.parse(metadata.melseg).modelName).toBe('UNet_dilate');
    expect(JSON.parse(metadata.optimizer)).toEqual({ step: 700 });
    expect(JSON.parse(metadata.trainer).rng).toHaveLength(4);
  });

  it('saves without optimizer or trainer state and loads them back as undefined', () => {
    const { meta, params } = tinyCheckpoint();
    const file = path.join(dir, 'w.ckpt');
    saveCheckpointSync(file, { meta, params });
    const back = loadCheckpoint(file);
    expect(back.optimizer).toBeUndefined();
    expect(back.trainerState).toBeUndefined();
    expect(Object.keys(decodeSafetensors(fs.readFileSync(file), file).tensors).some((k) => k.startsWith('__optim__'))).toBe(false);
  });

  it('refuses trainer state that JSON would silently change, naming the path', () => {
    const ck = tinyCheckpoint();
    ck.trainerState = { scheduler: { best: -Infinity } };
    expect(() => saveCheckpointSync(path.join(dir, 'x.ckpt'), ck)).toThrow(/trainerState\.scheduler\.best is -Infinity/);
    ck.trainerState = { hist: new Float32Array(2) };
    expect(() => saveCheckpointSync(path.join(dir, 'x.ckpt'), ck)).toThrow(/trainerState\.hist is a Float32Array/);
    expect(fs.existsSync(path.join(dir, 'x.ckpt'))).toBe(false);
  });

  it('refuses meta without a required field', () => {
    const ck = tinyCheckpoint();
    delete (ck.meta as Partial<CheckpointMeta>).width;
    expect(() => saveCheckpointSync(path.join(dir, 'x.ckpt'), ck)).toThrow(/meta\.width is missing, expected a number in \(0, 4\]/);
  });

  it('refuses unpaired optimizer moments', () => {
    const ck = tinyCheckpoint();
    delete ck.optimizer!.v['0.bias'];
    expect(() => saveCheckpointSync(path.join(dir, 'x.ckpt'), ck)).toThrow(/only in m: \[0\.bias\]/);
  });

  it('reports a truncated checkpoint with its path and what to do', () => {
    const file = path.join(dir, 'last.ckpt');
    saveCheckpointSync(file, tinyCheckpoint());
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(file, bytes.subarray(0, bytes.length - 100));
    expect(() => loadCheckpoint(file)).toThrow(new RegExp(`${file}: .*truncated.*killed while writing`));
  });

  it('reports a plain safetensors state_dict as not a melseg checkpoint', () => {
    const file = path.join(dir, 'plain.safetensors');
    fs.writeFileSync(file, encodeSafetensors({ w: { dtype: 'float32', shape: [1], data: Float32Array.of(1) } }, { format: 'pt' }));
    expect(() => loadCheckpoint(file)).toThrow(/not a melseg checkpoint: expected "melseg" metadata .* found metadata keys \[format\]/);
  });

  it('reports a missing file with the path', () => {
    expect(() => loadCheckpoint(path.join(dir, 'nope.ckpt'))).toThrow(/nope\.ckpt not found; check the path/);
  });
});

describe('checkCompatible', () => {
  const shapesOf = (ck: Checkpoint) => Object.fromEntries(Object.entries(ck.params).map(([k, t]) => [k, t.shape]));

  it('accepts the matching model, and tolerates num_batches_tracked missing from the model', () => {
    const ck = tinyCheckpoint();
    const shapes = shapesOf(ck);
    expect(() => checkCompatible(ck, { model: 3, width: 0.25, imageSize: 128 }, shapes)).not.toThrow();
    delete shapes['1.num_batches_tracked'];
    expect(() => checkCompatible(ck, { model: 3 }, shapes)).not.toThrow();
  });

  it('names the model mismatch and the fix', () => {
    const ck = { ...tinyCheckpoint(), source: 'runs/a/best.ckpt' };
    expect(() => checkCompatible(ck, { model: 5 }, shapesOf(ck))).toThrow(
      'runs/a/best.ckpt was trained with model 3 (UNet_dilate), width 0.25, image size 128, but model 5 was requested; select model 3 to use this checkpoint, or pick a checkpoint trained with model 5',
    );
  });

  it('names the width and image-size mismatches', () => {
    const ck = tinyCheckpoint();
    expect(() => checkCompatible(ck, { model: 3, width: 0.5 }, shapesOf(ck))).toThrow(/but width 0\.5 was requested; set width 0\.25/);
    expect(() => checkCompatible(ck, { model: 3, imageSize: 256 }, shapesOf(ck))).toThrow(/but image size 256 was requested; set image size 128/);
  });

  it('names the first tensor whose shape differs, with expected and found shapes', () => {
    const ck = tinyCheckpoint();
    const shapes = { ...shapesOf(ck), '0.weight': [8, 3, 3, 3], '1.weight': [8] };
    expect(() => checkCompatible(ck, { model: 3 }, shapes)).toThrow(
      /tensor "0\.weight" has shape \[4, 3, 3, 3\] in the checkpoint but the model expects \[8, 3, 3, 3\] \(2 of 7 tensors differ in shape, 0 missing, 0 unexpected\)/,
    );
  });

  it('names missing and unexpected tensors', () => {
    const ck = tinyCheckpoint();
    expect(() => checkCompatible(ck, { model: 3 }, { ...shapesOf(ck), '2.weight': [1] })).toThrow(/tensor "2\.weight" \(shape \[1\]\) is missing from the checkpoint/);
    const shapes = shapesOf(ck);
    delete shapes['0.bias'];
    expect(() => checkCompatible(ck, { model: 3 }, shapes)).toThrow(/tensor "0\.bias" \(shape \[4\]\) is in the checkpoint but not in the model/);
  });
});

describe('PyTorch compatibility', () => {
  itTorch('torch loads the state_dict (after dropping __optim__.*) into the matching nn.Module with strict=True', () => {
    const file = path.join(dir, 'best.ckpt');
    const ck = tinyCheckpoint();
    saveCheckpointSync(file, ck);
    const script = `
import json, struct, sys, numpy as np, torch
b = open(sys.argv[1], 'rb').read()
(n,) = struct.unpack('<Q', b[:8])
h = json.loads(b[8:8 + n]); meta = h.pop('__metadata__'); buf = b[8 + n:]
DT = {'F32': '<f4', 'I64': '<i8'}
sd = {k: torch.from_numpy(np.frombuffer(buf[e['data_offsets'][0]:e['data_offsets'][1]], dtype=DT[e['dtype']]).copy()).reshape(e['shape'])
      for k, e in h.items() if not k.startswith('__optim__.')}
model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
res = model.load_state_dict(sd, strict=True)
print(json.dumps({'w': model[0].weight.flatten()[:5].tolist(), 'nbt': int(model[1].num_batches_tracked), 'nbt_dtype': str(model[1].num_batches_tracked.dtype),
                  'var': model[1].running_var.tolist(), 'format': meta['format'], 'missing': res.missing_keys, 'unexpected': res.unexpected_keys}))
`;
    const r = spawnSync(PY, ['-c', script, file], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
    const py = JSON.parse(r.stdout);
    expect(py.w).toEqual([...(ck.params['0.weight'].data as Float32Array).subarray(0, 5)]);
    expect(py).toMatchObject({ nbt: 37, nbt_dtype: 'torch.int64', var: [1, 2, 3, 4], format: 'pt', missing: [], unexpected: [] });
  });
});

describe('metadata bounds (checked on every read)', () => {
  /** A checkpoint file whose melseg metadata is `meta`, written without the save-side checks. */
  function withMeta(meta: Record<string, unknown>, file = path.join(dir, 'hostile.ckpt')): string {
    fs.writeFileSync(file, encodeSafetensors({ w: { dtype: 'float32', shape: [1], data: Float32Array.of(1) } }, { format: 'pt', melseg: JSON.stringify(meta) }));
    return file;
  }
  const good = () => ({ ...tinyCheckpoint().meta }) as Record<string, unknown>;

  it.each([
    ['imageSize', '1e9', 1_000_000_000, 'a multiple of 32 from 32 to 2048'],
    ['imageSize', '100', 100, 'a multiple of 32 from 32 to 2048'],
    ['width', '1e300', 1e300, 'a number in (0, 4] giving at least one channel (>= 1/128)'],
    ['width', '0', 0, 'a number in (0, 4] giving at least one channel (>= 1/128)'],
    ['model', '7', 7, 'an integer 0..4 (the model table)'],
    ['loss', String(LOSSES.length), LOSSES.length, `an integer 0..${LOSSES.length - 1} (the loss table)`],
    ['modelName', 'another model\'s name', 'SegNet', 'the name of its model number in the model table'],
    ['lossName', 'an unknown name', 'tversky', 'the name of its loss number in the loss table'],
    ['epoch', '-1', -1, 'a non-negative integer'],
    ['epoch', '1.5', 1.5, 'a non-negative integer'],
    ['step', '2^60', 2 ** 60, 'a non-negative integer'],
    ['bestMetric', '1.5', 1.5, 'a number in [0, 1]'],
    ['runId', '5000 characters', 'x'.repeat(5000), 'a string of at most 4096 characters'],
  ])('meta.%s = %s is refused, naming the file, the field, the value and the range', (field, _label, value, range) => {
    const file = withMeta({ ...good(), [field]: value });
    let message = '';
    try {
      loadCheckpoint(file);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain(file);
    expect(message).toContain(`meta.${field} is ${JSON.stringify(value).slice(0, 80)}, expected ${range}`);
    expect(() => readCheckpointHeader(file)).toThrow(`meta.${field} is`);
  });

  it('refuses inference settings out of range', () => {
    const file = withMeta({ ...good(), inference: { tta: 'd4', largestComponent: true, fillHoles: true, threshold: 7 } });
    expect(() => loadCheckpoint(file)).toThrow(`${file}: meta.inference: threshold is 7, expected a number in (0, 1)`);
  });

  it('accepts metadata at the edges of every range', () => {
    const file = withMeta({ ...good(), model: 0, modelName: 'SegNet', loss: 14, lossName: 'tversky_loss_alpha_1.00', imageSize: 2048, width: 4, epoch: 0, step: 0, bestMetric: 1, inference: { tta: 'none', largestComponent: false, fillHoles: false, threshold: 0.5 } });
    expect(readCheckpointHeader(file).meta.imageSize).toBe(2048);
  });

  it('the same bounds stop a save', () => {
    const ck = tinyCheckpoint();
    ck.meta.imageSize = 4096;
    expect(() => saveCheckpointSync(path.join(dir, 'x.ckpt'), ck)).toThrow(/cannot save checkpoint .*x\.ckpt: meta\.imageSize is 4096, expected a multiple of 32 from 32 to 2048/);
  });
});

describe('firstNonFinite', () => {
  it('is null for finite weights and moments', () => {
    expect(firstNonFinite(tinyCheckpoint())).toBeNull();
  });

  it('names the first weight tensor holding NaN or Infinity, with the element and value', () => {
    const ck = tinyCheckpoint();
    (ck.params['1.running_var'].data as Float32Array)[2] = NaN;
    (ck.params['0.weight'].data as Float32Array)[5] = -Infinity;
    expect(firstNonFinite(ck)).toEqual({ tensor: '0.weight', index: 5, value: -Infinity });
  });

  it('checks the AdamW moments after the weights, under their file names', () => {
    const ck = tinyCheckpoint();
    ck.optimizer!.v['1.bias'][1] = Infinity;
    expect(firstNonFinite(ck)).toEqual({ tensor: '__optim__.v.1.bias', index: 1, value: Infinity });
  });
});

describe('large checkpoints', () => {
  it('encodeCheckpoint returns the header and then each tensor as a view of its own memory (no concatenation)', () => {
    const ck = tinyCheckpoint();
    const chunks = encodeCheckpoint(ck);
    const weight = ck.params['0.weight'].data as Float32Array;
    expect(chunks.some((c) => c.buffer === weight.buffer && c.byteOffset === weight.byteOffset && c.byteLength === weight.byteLength)).toBe(true);
    expect(chunks.length).toBe(1 + Object.keys(ck.params).length + 2 * Object.keys(ck.optimizer!.m).length);
    const whole = Buffer.concat(chunks);
    expect(decodeCheckpoint(whole, 'mem').params).toEqual(ck.params);
  });

  it('loads without the AdamW moments when asked (inference reads a third of a last.ckpt)', () => {
    const file = path.join(dir, 'last.ckpt');
    const ck = tinyCheckpoint();
    saveCheckpointSync(file, ck);
    const back = loadCheckpoint(file, { optimizer: false });
    expect(back.optimizer).toBeUndefined();
    expect(back.params).toEqual(ck.params);
  });
});

describe('a checkpoint file over 4 GiB (sparse: its moments are holes, nothing is written)', () => {
  // 2 x 2.5 GiB of AdamW moments, then the weight "w" at file offset > 5 GiB.
  const MOMENT = 2 ** 29 + 2 ** 27; // elements: 2.5 GiB of F32
  function sparseCheckpoint(file: string): number[] | null {
    const meta = { ...tinyCheckpoint().meta };
    const { head } = encodeSafetensorsHeader(
      [
        { name: 'w', dtype: 'float32', shape: [4] },
        { name: '__optim__.m.w', dtype: 'float32', shape: [MOMENT] },
        { name: '__optim__.v.w', dtype: 'float32', shape: [MOMENT] },
      ],
      { format: 'pt', melseg: JSON.stringify(meta), melseg_schema: '1', optimizer: '{"step":3}' },
    );
    const fd = fs.openSync(file, 'w');
    try {
      fs.writeSync(fd, head, 0, head.length, 0);
      fs.ftruncateSync(fd, head.length + 2 * 4 * MOMENT);
      if (fs.fstatSync(fd).blocks * 512 > 64 << 20) return null; // the file system does not make holes
      const w = [0.5, -1, 3, 7];
      fs.writeSync(fd, new Uint8Array(Float32Array.from(w).buffer), 0, 16, head.length + 2 * 4 * MOMENT);
      return w;
    } finally {
      fs.closeSync(fd);
    }
  }

  it('reads the header and the weights at offsets beyond 2^32 without reading the moments', () => {
    const file = path.join(dir, 'huge.ckpt');
    const w = sparseCheckpoint(file);
    if (!w) {
      console.warn(`skipped: ${dir} does not support sparse files, so the 5 GiB test file would really be written`);
      fs.rmSync(file);
      return;
    }
    expect(fs.statSync(file).size).toBeGreaterThan(2 ** 32);
    const h = readCheckpointHeader(file);
    expect(h.optimizerStep).toBe(3);
    expect(h.tensors.map((t) => t.name)).toEqual(['__optim__.m.w', '__optim__.v.w', 'w']);
    const ck = loadCheckpoint(file, { optimizer: false });
    expect(ck.params.w.data).toEqual(Float32Array.from(w));
    expect(ck.optimizer).toBeUndefined();
  });
});

describe('readCheckpointHeader', () => {
  it('returns meta, trainer state, step and the tensor list', () => {
    const file = path.join(dir, 'last.ckpt');
    const ck = tinyCheckpoint();
    saveCheckpointSync(file, ck);
    const h = readCheckpointHeader(file);
    expect(h.meta).toEqual(ck.meta);
    expect(h.trainerState).toEqual(ck.trainerState);
    expect(h.optimizerStep).toBe(700);
    expect(h.tensors.find((t) => t.name === '0.weight')).toEqual({ name: '0.weight', dtype: 'F32', shape: [4, 3, 3, 3] });
  });

  it('names a missing file and a folder', () => {
    expect(() => readCheckpointHeader(path.join(dir, 'nope.ckpt'))).toThrow(/nope\.ckpt not found; check the path/);
    expect(() => readCheckpointHeader(dir)).toThrow(/is a directory; pass the checkpoint file inside it/);
  });
});
