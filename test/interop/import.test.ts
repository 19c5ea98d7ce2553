/**
 * importStateDict on state_dicts written here byte by byte (any safetensors dtype): every mismatch
 * listed, conversions, DataParallel names, counters, --out rules, and the refusals. Tiny UNet
 * (32 px, width 1/16); the tensors are melseg's seeded initial weights under the study's names.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initialCheckpoint, parameterSpecs, resolveConfig } from '../../src/graphs';
import { importStateDict, type ImportOptions } from '../../src/interop/import';
import { loadWeights } from '../../src/infer/model';
import { LOSSES } from '../../src/losses';
import { loadCheckpoint, readCheckpointHeader, saveCheckpoint } from '../../src/checkpoint/checkpoint';
import { RECIPES } from '../../src/train/recipe';

interface RawTensor {
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

/** A safetensors file of any dtypes: 8-byte header length, JSON header padded to 8, the bytes in order. */
function writeRaw(file: string, tensors: Record<string, RawTensor>, metadata?: Record<string, string>): void {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let at = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + t.bytes.length] };
    at += t.bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  fs.writeFileSync(file, Buffer.concat([len, Buffer.from(json), ...Object.values(tensors).map((t) => Buffer.from(t.bytes))]));
}

const bytesOf = (a: Float32Array | Float64Array | BigInt64Array | Int32Array | Uint16Array | Int8Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

const S = 32;
const W = 1 / 16;
const config = resolveConfig({ model: 1, loss: 0, imageSize: S, width: W });
const specs = parameterSpecs(config);
const initial = initialCheckpoint(config, specs).params;

/** The UNet's state_dict as PyTorch would save it: F32 weights and statistics, I64 counters. */
function stateDict(): Record<string, RawTensor> {
  const out: Record<string, RawTensor> = {};
  for (const p of specs) {
    const t = initial[p.name];
    const data = t.data instanceof Float32Array ? Float32Array.from(t.data) : BigInt64Array.of(5n);
    out[p.name] = { dtype: t.dtype === 'float32' ? 'F32' : 'I64', shape: [...t.shape], bytes: bytesOf(data) };
  }
  return out;
}

/** F16 bits of a value exactly representable as a normal binary16 number. */
function halfBits(v: number): number {
  if (v === 0) return 0;
  const e = Math.floor(Math.log2(Math.abs(v)));
  const m = (Math.abs(v) / 2 ** e - 1) * 1024;
  if (!Number.isInteger(m) || e < -14 || e > 15) throw new Error(`${v} is not a normal binary16 value`);
  return (v < 0 ? 0x8000 : 0) | ((e + 15) << 10) | m;
}

describe('importStateDict', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-import-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  const fresh = (name = 'in.safetensors') => path.join(fs.mkdtempSync(path.join(dir, `t${n++}-`)), name);
  const run = (o: Partial<ImportOptions> & { stateDict: string }) =>
    importStateDict({ out: path.join(path.dirname(o.stateDict), 'out.ckpt'), model: 1, width: W, imageSize: S, ...o });

  test('every missing, unexpected, wrong-shape and wrong-dtype tensor is listed in one error, and nothing is written', async () => {
    const sd = stateDict();
    delete sd['conv2.0.weight'];
    delete sd['deconv1.4.running_var'];
    sd['extra.weight'] = { dtype: 'F32', shape: [3], bytes: bytesOf(new Float32Array(3)) };
    sd['conv1.0.bias'] = { dtype: 'F32', shape: [5], bytes: bytesOf(new Float32Array(5)) };
    const last = sd['last.0.weight'];
    sd['last.0.weight'] = { dtype: 'I8', shape: last.shape, bytes: new Uint8Array(last.bytes.length / 4) };
    sd['conv1.1.num_batches_tracked'] = { dtype: 'F32', shape: [], bytes: bytesOf(Float32Array.of(1)) };
    const file = fresh();
    writeRaw(file, sd);
    const err = await run({ stateDict: file }).then(() => null, (e: Error) => e);
    expect(err).not.toBeNull();
    const lines = err!.message.split('\n');
    expect(lines[0]).toBe(`--state-dict ${file} does not fit UNet (model 1) at width 0.0625: 6 problems (${specs.length} tensors expected, ${Object.keys(sd).length} in the file)`);
    expect(lines.slice(1, 7)).toEqual([
      '  wrong shape conv1.0.bias: the network has [4], the file has [5]',
      '  wrong dtype conv1.1.num_batches_tracked: a counter, expected an integer dtype (I64), found F32; save it as v.long() in PyTorch',
      '  missing     conv2.0.weight: the network has F32 [8, 4, 3, 3], the file has no such tensor',
      '  missing     deconv1.4.running_var: the network has F32 [4], the file has no such tensor',
      expect.stringMatching(/^ {2}wrong dtype last\.0\.weight: expected a floating dtype .* found I8: integer weights are quantised; dequantise them in PyTorch/),
      '  unexpected  extra.weight: F32 [3] is in the file but not in the network',
    ]);
    expect(lines[7]).toMatch(/^Check --model .* and --width/);
    expect(fs.existsSync(path.join(path.dirname(file), 'out.ckpt'))).toBe(false);
  });

  test('a wrong --model or --width gets the network and width the tensors fit', async () => {
    const file = fresh();
    writeRaw(file, stateDict());
    await expect(run({ stateDict: file, model: 'UNet_stride' })).rejects.toThrow(
      /does not fit UNet_stride \(model 2\) at width 0\.0625: \d+ problems[\s\S]*\nThe tensors fit UNet \(model 1\) at width 0\.0625: run it again with --model 1 --width 0\.0625\.$/,
    );
    await expect(run({ stateDict: file, width: 0.125 })).rejects.toThrow(/wrong shape conv1\.0\.weight: the network has \[8, 3, 3, 3\], the file has \[4, 3, 3, 3\][\s\S]*run it again with --model 1 --width 0\.0625\.$/);
  });

  test('without --model and --width the network is recognised; the recipe gives the image size and the loss', async () => {
    const file = fresh();
    writeRaw(file, stateDict());
    const r = await importStateDict({ stateDict: file, out: path.join(path.dirname(file), 'out.ckpt') });
    expect([r.config.model.id, r.config.width, r.config.imageSize, r.config.loss.id]).toEqual([1, W, RECIPES.melseg.imageSize, RECIPES.melseg.loss]);
    expect(r.notes).toEqual([
      'network UNet (model 1) at width 0.0625, recognised from the tensors',
      `image size ${RECIPES.melseg.imageSize}, the recipe's default (the weights work at any multiple of 32; --image-size sets it)`,
      `loss ${LOSSES[RECIPES.melseg.loss].name} recorded in the metadata, the recipe's default (--loss sets it; the weights do not depend on it)`,
    ]);
    const onlyModel = await run({ stateDict: file, width: undefined, loss: 0, force: true });
    expect(onlyModel.notes).toEqual(['width 0.0625, from the 4 output channels of conv1.0.weight']);
    const onlyWidth = await run({ stateDict: file, model: undefined, loss: 0, force: true });
    expect(onlyWidth.notes).toEqual(['network UNet (model 1), recognised from the tensors']);
  });

  test('F64, F16 and BF16 tensors become F32 and I32 counters I64, each conversion reported', async () => {
    const sd = stateDict();
    const w = initial['conv1.0.weight'].data as Float32Array;
    const w64 = Float64Array.from(w, (v) => v + 1e-12); // F64 detail below float32 resolution rounds away
    sd['conv1.0.weight'] = { dtype: 'F64', shape: sd['conv1.0.weight'].shape, bytes: bytesOf(w64) };
    const halves = [0.5, -0.25, 1.5, 0.125];
    sd['conv1.0.bias'] = { dtype: 'F16', shape: [4], bytes: bytesOf(Uint16Array.from(halves, halfBits)) };
    sd['conv1.1.weight'] = { dtype: 'BF16', shape: [4], bytes: bytesOf(Uint16Array.of(0x3f80, 0x4000, 0xbf80, 0x3f00)) };
    sd['conv1.1.num_batches_tracked'] = { dtype: 'I32', shape: [], bytes: bytesOf(Int32Array.of(7)) };
    const file = fresh();
    writeRaw(file, sd);
    const r = await run({ stateDict: file, loss: 'dice_loss' });
    expect(r.notes).toEqual([
      '1 F64 tensor converted to F32 (rounded to nearest, as PyTorch\'s .float())',
      '1 F16 tensor converted to F32 (exact)',
      '1 BF16 tensor converted to F32 (exact)',
      '1 I32 tensor converted to I64 (exact)',
    ]);
    const ck = loadCheckpoint(r.out);
    expect(ck.params['conv1.0.weight'].data).toEqual(w);
    expect(Array.from(ck.params['conv1.0.bias'].data as Float32Array)).toEqual(halves);
    expect(Array.from(ck.params['conv1.1.weight'].data as Float32Array)).toEqual([1, 2, -1, 0.5]);
    expect(ck.params['conv1.1.num_batches_tracked']).toEqual({ dtype: 'int64', shape: [], data: BigInt64Array.of(7n) });
    expect(ck.params['conv2.1.num_batches_tracked'].data).toEqual(BigInt64Array.of(5n));
  });

  test("nn.DataParallel's module. prefix is removed and absent num_batches_tracked counters are written as 0", async () => {
    const sd: Record<string, RawTensor> = {};
    for (const [k, v] of Object.entries(stateDict())) if (!k.endsWith('.num_batches_tracked')) sd[`module.${k}`] = v;
    const file = fresh();
    writeRaw(file, sd);
    const r = await run({ stateDict: file, loss: 2 });
    const counters = specs.filter((p) => p.dtype === 'int64').length;
    expect(r.notes).toEqual([
      'the "module." prefix (nn.DataParallel) removed from every name',
      `${counters} num_batches_tracked counters absent from the file, written as 0 (BatchNorm with momentum 0.1 never reads them)`,
    ]);
    expect(r.tensors).toBe(specs.length);
    const ck = loadCheckpoint(r.out);
    expect(ck.params['deconv1.1.num_batches_tracked'].data).toEqual(BigInt64Array.of(0n));
    expect(ck.params['last.0.bias'].data).toEqual(initial['last.0.bias'].data);
  });

  test('the checkpoint is what evaluate and predict load: the weights, the configuration and loss, no optimizer state', async () => {
    const file = fresh('weights.safetensors');
    writeRaw(file, stateDict(), { format: 'pt' });
    const r = await run({ stateDict: file, loss: 9 });
    const { checkpoint, config: c } = loadWeights(r.out);
    expect([c.model.id, c.width, c.imageSize, c.loss.id]).toEqual([1, W, S, 9]);
    expect(checkpoint.meta.importedFrom).toBe('weights.safetensors');
    expect(checkpoint.optimizer).toBeUndefined();
    const h = readCheckpointHeader(r.out);
    expect(h.tensors.map((t) => t.name).sort()).toEqual(specs.map((p) => p.name).sort());
    expect(h.metadata.optimizer).toBeUndefined();
    for (const p of specs) expect(checkpoint.params[p.name].data).toEqual(p.dtype === 'int64' ? BigInt64Array.of(5n) : initial[p.name].data);
  });

  test('--out: an existing file needs --force, and neither a folder nor the input file itself is written', async () => {
    const file = fresh();
    writeRaw(file, stateDict());
    const out = path.join(path.dirname(file), 'out.ckpt');
    fs.writeFileSync(out, 'keep me');
    await expect(run({ stateDict: file })).rejects.toThrow(`--out ${out} already exists; add --force to replace it, or choose another --out`);
    expect(fs.readFileSync(out, 'utf8')).toBe('keep me');
    await run({ stateDict: file, force: true });
    expect(loadCheckpoint(out).meta.model).toBe(1);
    await expect(run({ stateDict: file, out: path.dirname(file), force: true })).rejects.toThrow(/is a folder; expected the checkpoint file to write, e\.g\. --out .*imported\.ckpt/);
    await expect(run({ stateDict: file, out: file, force: true })).rejects.toThrow(/is the --state-dict file itself; write the checkpoint beside it, e\.g\. --out .*in\.ckpt/);
  });

  test('refusals name the file, what was found and the fix', async () => {
    const melsegCkpt = fresh('best.ckpt');
    await saveCheckpoint(melsegCkpt, initialCheckpoint(config, specs));
    await expect(run({ stateDict: melsegCkpt })).rejects.toThrow(/best\.ckpt is already a melseg checkpoint .* melseg predict --checkpoint .*best\.ckpt IMAGE --out DIR/);

    const missing = path.join(dir, 'nope.safetensors');
    await expect(run({ stateDict: missing })).rejects.toThrow(`--state-dict ${missing}: no such file`);

    const text = fresh('weights.npy');
    fs.writeFileSync(text, '\x93NUMPY\x01\x00v\x00{"descr": "<f4"} and more bytes than eight');
    await expect(run({ stateDict: text })).rejects.toThrow(/weights\.npy: expected a safetensors file \(8-byte header length, then a JSON header\), found something else \(.*\)\. Save the weights with safetensors\.torch\.save_file/);

    const cut = fresh();
    writeRaw(cut, stateDict());
    fs.truncateSync(cut, fs.statSync(cut).size - 10);
    await expect(run({ stateDict: cut })).rejects.toThrow(/in\.safetensors: the file is incomplete \(the header describes \d+ bytes of tensor data but the file holds only \d+ .*\); it was cut off while being written or copied: save or copy it again$/);
    const nothing = fresh();
    fs.writeFileSync(nothing, '');
    await expect(run({ stateDict: nothing })).rejects.toThrow(/: the file is incomplete \(expected at least 8 bytes \(the header length field\), found 0\)/);

    const empty = fresh();
    writeRaw(empty, {});
    await expect(run({ stateDict: empty })).rejects.toThrow(/holds no tensors; save the network's state_dict\(\)/);

    const nan = fresh();
    const sd = stateDict();
    const bias = Float32Array.of(0, NaN, 0, Infinity);
    sd['conv1.0.bias'] = { dtype: 'F32', shape: [4], bytes: bytesOf(bias) };
    sd['last.0.bias'] = { dtype: 'F32', shape: [1], bytes: bytesOf(Float32Array.of(-Infinity)) };
    writeRaw(nan, sd);
    await expect(run({ stateDict: nan })).rejects.toThrow(/2 tensors hold NaN or infinite values .*\n {2}conv1\.0\.bias: element 1 is NaN\n {2}last\.0\.bias: element 0 is -Infinity\nUse weights saved before the divergence/);

    const dilate = fresh();
    writeRaw(dilate, stateDict());
    await expect(importStateDict({ stateDict: dilate, out: dilate + '.ckpt', model: 3 })).rejects.toThrow(/--image-size is required for UNet_dilate: .* add --image-size$/);

    const foreign = fresh();
    writeRaw(foreign, { 'fc.weight': { dtype: 'F32', shape: [2, 2], bytes: bytesOf(new Float32Array(4)) } });
    await expect(importStateDict({ stateDict: foreign, out: foreign + '.ckpt' })).rejects.toThrow(/its tensors fit none of melseg's networks .*; pass --model \(0 SegNet, 1 UNet, 2 UNet_stride, 3 UNet_dilate, 4 EGE-UNet\) and --width/);

    await expect(run({ stateDict: foreign, model: 'ResNet' })).rejects.toThrow(/^--model 'ResNet': expected a number or a name from/);
    await expect(run({ stateDict: foreign, imageSize: 33 })).rejects.toThrow(/^--image-size 33: expected a multiple of 32/);
    await expect(run({ stateDict: foreign, loss: 99 })).rejects.toThrow(/^--loss '99': expected a number or a name from/);
  });
});
