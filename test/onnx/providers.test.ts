import { evalGraph, inferenceGraph, resolveConfig, trainStepGraph } from '../../src/graphs';
import { LOSSES } from '../../src/losses';
import { MODELS } from '../../src/models';
import { cpuFallbacks } from '../../src/onnx/providers';

const kinds = { trainStep: trainStepGraph, eval: evalGraph, inference: inferenceGraph };

describe('GPU provider coverage of the default graphs', () => {
  test('every op of every default graph (each model x loss; train step, eval, inference) was looked up in both providers', () => {
    const unchecked = new Set<string>();
    for (const m of MODELS) {
      for (const l of LOSSES) {
        const c = resolveConfig({ model: m.id, loss: l.id, imageSize: 32, width: 1 / 16 });
        for (const build of Object.values(kinds)) for (const op of cpuFallbacks('cuda', build(c).opTypes()).unchecked) unchecked.add(op);
      }
    }
    expect([...unchecked]).toEqual([]);
  });

  test('every default graph of every model runs wholly on CUDA and on WebGPU', () => {
    const seen: Record<string, Record<string, string>> = {};
    for (const m of MODELS) {
      const c = resolveConfig({ model: m.id, loss: 9, imageSize: 32, width: 1 / 16 });
      for (const [kind, build] of Object.entries(kinds)) {
        const ops = build(c).opTypes();
        for (const device of ['cuda', 'webgpu'] as const) {
          const f = cpuFallbacks(device, ops).fallback.join(',');
          if (f) (seen[`${m.name} ${kind}`] ??= {})[device] = f;
        }
      }
    }
    expect(seen).toEqual({});
  });

  test('the formulations a provider lacks are reported, as is an op nobody looked up; the CPU provider never falls back', () => {
    const c = resolveConfig({ model: 1, loss: 9, imageSize: 32, width: 1 / 16, lowering: { maxPoolGrad: 'unpool', spaceToDepth: 'op' } });
    const ops = trainStepGraph(c).opTypes();
    expect(cpuFallbacks('cuda', ops).fallback).toEqual(['MaxUnpool']);
    expect(cpuFallbacks('webgpu', ops).fallback).toEqual(['MaxUnpool', 'SpaceToDepth']);
    expect(cpuFallbacks('webgpu', ['Conv', 'Einsum'])).toEqual({ fallback: [], unchecked: ['Einsum'] });
    expect(cpuFallbacks('cpu', ['MaxUnpool']).fallback).toEqual([]);
  });
});
