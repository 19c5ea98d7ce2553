/**
 * The format of a pass file. A pass changes a graph without changing the function it computes:
 * a formulation that runs faster, or a form a device can run. Most are rewrite rules, written in the
 * style of onnxscript's rewriter: a `pattern` that binds the values a node and its producers hold
 * (undefined: no match), a `check` of the conditions the replacement needs (shapes, attributes), and
 * the `replacement`, which emits ops whose outputs take the matched node's output names, so its
 * consumers and the graph's outputs are untouched. Pipelines (src/graphs/pipeline.ts) are plain
 * lists of passes, applied in order.
 */
import type { Attrs, Graph, Node, Value } from '../onnx/graph';
import { convAttrs, type Conv2dAttrs } from '../ops/conv-attrs';

export interface Pass {
  name: string;
  /** rewrite `g` in place; returns how many places changed */
  run(g: Graph): number;
}

export interface RewriteRule<B> {
  name: string;
  pattern(g: Graph, n: Node): B | undefined;
  check(g: Graph, b: B): boolean;
  replacement(g: Graph, b: B): Value[];
}

/** A pass applying one rewrite rule wherever it matches, in one sweep over the nodes. */
export function rewritePass<B>(rule: RewriteRule<B>): Pass {
  return {
    name: rule.name,
    run(g) {
      let count = 0;
      g.rewrite((n) => {
        const b = rule.pattern(g, n);
        if (b === undefined || !rule.check(g, b)) return undefined;
        count++;
        return rule.replacement(g, b);
      });
      return count;
    },
  };
}

/** The values of a node's operands (null for an absent optional one). */
export function operands(g: Graph, n: Node): (Value | null)[] {
  return n.inputs.map((x) => (x ? g.value(x) : null));
}

/**
 * A 2-D group-1 convolution's attributes, or undefined (not a match) for one melseg's rules do not
 * handle or that is grouped: every rewrite of a Conv (NCHWc, subpixel, quadrant, tail pad, BN fold)
 * is written for dense convolutions, so a grouped or depthwise Conv is left as it is.
 */
export function tryConvAttrs(w: Value, attrs: Attrs): Conv2dAttrs | undefined {
  try {
    const a = convAttrs('Conv', w, attrs);
    return a.group === 1 ? a : undefined;
  } catch {
    return undefined;
  }
}

/** A standard dense Conv node's input, weight, bias (null when absent) and attributes; undefined for any other node. */
export function matchConv(g: Graph, n: Node): { x: Value; w: Value; b: Value | null; a: Conv2dAttrs } | undefined {
  if (n.op !== 'Conv' || n.domain !== '') return undefined;
  const [x, w, b] = operands(g, n);
  const a = x && w ? tryConvAttrs(w, n.attrs) : undefined;
  return x && w && a ? { x, w, b: b ?? null, a } : undefined;
}
