import { evalGraph, inferenceGraph, pipeline, resolveConfig, trainStepGraph, type Target } from '../../src/graphs';
import { LOSSES } from '../../src/losses';
import { MODELS } from '../../src/models';
import { cpuFallbacks, refusedAtRun } from '../../src/onnx/providers';

const kinds = { trainStep: trainStepGraph, eval: evalGraph, inference: inferenceGraph };

describe('GPU provider coverage of the graphs', () => {
  test('every op of every graph (each model x loss x target; train step, eval, inference) was looked up in both providers', () => {
    const unchecked = new Set<string>();
    for (const m of MODELS) {
      for (const l of LOSSES) {
        const c = resolveConfig({ model: m.id, loss: l.id, imageSize: 32, width: 1 / 16 });
        for (const target of [{ device: 'cpu' }, { device: 'cuda' }] satisfies Target[]) {
          for (const build of Object.values(kinds)) for (const op of cpuFallbacks('cuda', build(c, target).opTypes()).unchecked) unchecked.add(op);
        }
      }
    }
    expect([...unchecked]).toEqual([]);
  });

  test('every graph of every model compiled for CUDA or WebGPU runs wholly on that provider', () => {
    const seen: Record<string, Record<string, string>> = {};
    for (const m of MODELS) {
      const c = resolveConfig({ model: m.id, loss: 9, imageSize: 32, width: 1 / 16 });
      for (const device of ['cuda', 'webgpu'] as const) {
        for (const [kind, build] of Object.entries(kinds)) {
          const f = cpuFallbacks(device, build(c, { device }).opTypes()).fallback.join(',');
          if (f) (seen[`${m.name} ${kind}`] ??= {})[device] = f;
        }
      }
    }
    expect(seen).toEqual({});
  });

  test('no graph compiled for CUDA, WebGPU or portable holds a node form a provider refuses at run time (WebGPU: MaxPool\'s Indices)', () => {
    const refused: string[] = [];
    for (const m of MODELS) {
      const c = resolveConfig({ model: m.id, loss: 15, imageSize: 32, width: 1 / 16 });
      for (const target of ['cuda', 'webgpu', 'portable'] as const) {
        for (const [kind, build] of Object.entries(kinds)) {
          const graph = build(c, { device: target });
          for (const d of ['cuda', 'webgpu'] as const) {
            if (target === d || target === 'portable') refused.push(...refusedAtRun(d, graph).map((r) => `${m.name} ${kind} ${target}: ${r}`));
          }
        }
      }
    }
    expect(refused).toEqual([]);
  });

  test('the CPU graphs\' MaxPools keep their Indices and their small up-convolutions pad at the end, which WebGPU refuses or miscomputes; a GPU target refuses to compile them', () => {
    const c = resolveConfig({ model: 0, loss: 9, imageSize: 32, width: 1 / 16 });
    const refused = refusedAtRun('webgpu', inferenceGraph(c, { device: 'cpu' }));
    expect(refused.filter((r) => /MaxPool's Indices/.test(r))).toHaveLength(5);
    // SegNet at 32 px: the sub-pixel up-convolutions at 2x2, a 2x2 kernel padded only at the end
    expect(refused.filter((r) => /a Conv on the MatMul shortcut with trailing pads/.test(r)).length).toBeGreaterThan(0);
    expect(refusedAtRun('cuda', inferenceGraph(c, { device: 'cpu' }))).toEqual([]);
    const p = pipeline(c, { device: 'webgpu' });
    const without = { ...p, devicePasses: p.devicePasses.filter((q) => q.name !== 'maxpool-without-indices') };
    expect(() => inferenceGraph(c, without)).toThrow(/graph 'inference' for webgpu: the webgpu provider refuses MaxPool_\d+: MaxPool's Indices output .*must rewrite these/);
  });

  test('the CPU graphs\' MaxUnpool and SpaceToDepth would fall back on a GPU, as would an op nobody looked up; the CPU provider never falls back', () => {
    const ops = trainStepGraph(resolveConfig({ model: 1, loss: 9, imageSize: 32, width: 1 / 16 }), { device: 'cpu' }).opTypes();
    expect(cpuFallbacks('cuda', ops).fallback).toEqual(['MaxUnpool']);
    expect(cpuFallbacks('webgpu', ops).fallback).toEqual(['MaxUnpool', 'SpaceToDepth']);
    expect(cpuFallbacks('webgpu', ['Conv', 'Einsum'])).toEqual({ fallback: [], unchecked: ['Einsum'] });
    expect(cpuFallbacks('cpu', ['MaxUnpool']).fallback).toEqual([]);
  });
});
