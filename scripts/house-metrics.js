#!/usr/bin/env node
/**
 * The house's measures of src/, read with the TypeScript compiler API (no build needed):
 * - imports between rooms (a folder of src/, or a top-level file such as autodiff.ts) against the arrow
 *   rule of ARCHITECTURE.md: an import between two rooms must point to a lower one. Counts the imports
 *   that point up or sideways, and the cycles between rooms (strongly connected components);
 * - the longest functions (declarations, methods, constructors, accessors, function expressions and
 *   arrow functions; lines from the first to the last, nested functions counted in their parent too);
 * - `!` non-null assertions and `as` casts (`as const` counted apart: it asserts nothing).
 *
 *   node scripts/house-metrics.js [--root DIR] [--rule FILE] [--top N] [--json]
 *
 * --root: the checkout to measure (default: this one), e.g. an old commit unpacked with
 * `git archive 9975f9e src ARCHITECTURE.md | tar -x -C /tmp/before`; --rule: the ARCHITECTURE.md whose
 * arrow rule is applied (default: <root>/ARCHITECTURE.md). test/architecture.test.ts uses the same
 * functions, so the rule is read from one place.
 */
'use strict';
const fs = require('fs');
const path = require('path');
const ts = require('typescript');

/** Every .ts file under `dir`, as paths relative to `root` with '/' separators, sorted. */
function sourceFiles(root, dir = 'src') {
  const out = [];
  const walk = (rel) => {
    for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const p = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** The room of a file of src/: its top folder, or for a file directly in src/ its name without .ts. */
function roomOf(file) {
  const parts = file.split('/').slice(1);
  return parts.length > 1 ? parts[0] : parts[0].replace(/\.ts$/, '');
}

/** A relative module specifier of `from`, resolved to a file of the checkout (x.ts or x/index.ts). */
function resolve(root, from, spec) {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
  for (const f of [`${base}.ts`, `${base}/index.ts`, base]) if (fs.existsSync(path.join(root, f)) && fs.statSync(path.join(root, f)).isFile()) return f;
  return null;
}

/** Every import of a src/ file by a src/ file (type-only imports included: they are dependencies too). */
function imports(root) {
  const out = [];
  for (const from of sourceFiles(root)) {
    const info = ts.preProcessFile(fs.readFileSync(path.join(root, from), 'utf8'), true, true);
    for (const m of info.importedFiles) {
      if (!m.fileName.startsWith('.')) continue;
      const to = resolve(root, from, m.fileName);
      if (!to) throw new Error(`${from}: import '${m.fileName}' resolves to no file`);
      out.push({ from, to });
    }
  }
  return out;
}

/**
 * The arrow rule: the backquoted line after "Arrows point down only:" in ARCHITECTURE.md, rooms from
 * highest to lowest separated by '->', rooms of one level by ',' or '/'. Returns room -> level (0 =
 * lowest).
 */
function arrowRule(markdown) {
  const m = /Arrows point down only:\s*`([^`]+)`/.exec(markdown);
  if (!m) throw new Error('ARCHITECTURE.md: no "Arrows point down only: `a -> b -> ...`" line');
  const levels = m[1].split('->').map((lvl) => lvl.split(/[,/]/).map((r) => r.trim()).filter(Boolean));
  const rank = new Map();
  levels.forEach((rooms, i) => rooms.forEach((r) => {
    if (rank.has(r)) throw new Error(`ARCHITECTURE.md's arrow rule names '${r}' twice`);
    rank.set(r, levels.length - 1 - i);
  }));
  return rank;
}

/** Imports between two rooms that do not point to a lower room (up, or sideways to a room of the same level). */
function upwardImports(edges, rank) {
  return edges.filter(({ from, to }) => {
    const [a, b] = [roomOf(from), roomOf(to)];
    if (a === b) return false;
    if (!rank.has(a) || !rank.has(b)) return true;
    return rank.get(b) >= rank.get(a);
  });
}

/** The cycles between rooms: strongly connected components of the room graph with more than one room. */
function roomCycles(edges) {
  const next = new Map();
  for (const { from, to } of edges) {
    const [a, b] = [roomOf(from), roomOf(to)];
    if (a === b) continue;
    if (!next.has(a)) next.set(a, new Set());
    if (!next.has(b)) next.set(b, new Set());
    next.get(a).add(b);
  }
  // Tarjan's algorithm
  let counter = 0;
  const index = new Map();
  const low = new Map();
  const stack = [];
  const on = new Set();
  const out = [];
  const visit = (v) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    on.add(v);
    for (const w of next.get(v)) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) === index.get(v)) {
      const scc = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const v of [...next.keys()].sort()) if (!index.has(v)) visit(v);
  return out.sort((a, b) => a[0].localeCompare(b[0]));
}

function parse(root, file) {
  return ts.createSourceFile(file, fs.readFileSync(path.join(root, file), 'utf8'), ts.ScriptTarget.ES2022, true);
}

/** A function's name: its own, or the variable, property or class member it is assigned to. */
function functionName(node, sf) {
  const named = (n) => (n && n.name ? n.name.getText(sf) : undefined);
  if (ts.isConstructorDeclaration(node)) return `${named(node.parent) ?? '<class>'}.constructor`;
  const own = named(node);
  const cls = ts.isClassLike(node.parent) ? `${named(node.parent) ?? '<class>'}.` : '';
  if (own) return cls + own;
  const p = node.parent;
  if (ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p)) return named(p);
  if (ts.isCallExpression(p)) return `<callback of ${p.expression.getText(sf).slice(0, 40)}>`;
  return '<anonymous>';
}

/** The `top` longest functions of src/: { file, name, line, lines }. */
function longestFunctions(root, top = 10) {
  const all = [];
  for (const file of sourceFiles(root)) {
    const sf = parse(root, file);
    const visit = (node) => {
      if (ts.isFunctionLike(node) && 'body' in node && node.body) {
        const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
        const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
        all.push({ file, name: functionName(node, sf), line: start + 1, lines: end - start + 1 });
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return all.sort((a, b) => b.lines - a.lines || a.file.localeCompare(b.file)).slice(0, top);
}

/** `!` non-null assertions and `as` casts in src/, in all and per room. */
function assertionCounts(root) {
  const total = { nonNull: 0, as: 0, asConst: 0 };
  const byRoom = {};
  for (const file of sourceFiles(root)) {
    const room = (byRoom[roomOf(file)] ??= { nonNull: 0, as: 0, asConst: 0 });
    const sf = parse(root, file);
    const visit = (node) => {
      let key;
      if (ts.isNonNullExpression(node)) key = 'nonNull';
      else if (ts.isAsExpression(node) || ts.isTypeAssertionExpression(node)) key = node.type.getText(sf) === 'const' ? 'asConst' : 'as';
      if (key) {
        total[key]++;
        room[key]++;
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return { total, byRoom };
}

/** Whether a value of `type` may be null or undefined, as far as the checker can tell (a generic may). */
function mayBeNullish(type) {
  const F = ts.TypeFlags;
  if (type.flags & (F.Any | F.Unknown | F.Null | F.Undefined | F.Void | F.Instantiable)) return true;
  return type.isUnion() ? type.types.some(mayBeNullish) : false;
}

/**
 * The `!` of src/ that assert nothing: their operand's type (after narrowing, under the tsconfig.json of
 * `root`) already excludes null and undefined, e.g. typed-array indexing without noUncheckedIndexedAccess.
 * Returns { file, line, text, pos } (pos: the offset of the `!` in the file). Builds a type-checked
 * program of src/ (seconds, unlike the other measures).
 */
function redundantNonNull(root) {
  const configFile = path.join(root, 'tsconfig.json');
  const parsed = ts.parseJsonConfigFileContent(ts.readConfigFile(configFile, ts.sys.readFile).config, ts.sys, root);
  const files = sourceFiles(root).map((f) => path.join(root, f));
  const program = ts.createProgram(files, { ...parsed.options, noEmit: true });
  const checker = program.getTypeChecker();
  const out = [];
  for (const abs of files) {
    const sf = program.getSourceFile(abs);
    const file = path.relative(root, abs).split(path.sep).join('/');
    const visit = (node) => {
      if (ts.isNonNullExpression(node) && !mayBeNullish(checker.getTypeAtLocation(node.expression))) {
        const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
        out.push({ file, line, text: node.getText(sf), pos: node.getEnd() - 1 });
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return out;
}

function measure(root, ruleFile) {
  const rank = arrowRule(fs.readFileSync(ruleFile, 'utf8'));
  const edges = imports(root);
  const rooms = [...new Set(sourceFiles(root).map(roomOf))].sort();
  return {
    rooms: rooms.length,
    roomsNotInRule: rooms.filter((r) => !rank.has(r)),
    imports: edges.length,
    crossRoomImports: edges.filter(({ from, to }) => roomOf(from) !== roomOf(to)).length,
    upward: upwardImports(edges, rank).map(({ from, to }) => `${from} -> ${to}`),
    cycles: roomCycles(edges),
    longest: longestFunctions(root),
    assertions: assertionCounts(root),
  };
}

function main(argv) {
  const arg = (name, dflt) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : dflt;
  };
  const root = path.resolve(arg('--root', path.join(__dirname, '..')));
  const rule = path.resolve(arg('--rule', path.join(root, 'ARCHITECTURE.md')));
  const m = measure(root, rule);
  if (argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify(m, null, 2)}\n`);
    return;
  }
  const lines = [
    `src/ of ${root}, arrow rule of ${rule}`,
    `rooms: ${m.rooms}${m.roomsNotInRule.length ? ` (not in the arrow rule: ${m.roomsNotInRule.join(', ')})` : ''}`,
    `imports: ${m.imports}, ${m.crossRoomImports} between rooms`,
    `imports that point up or sideways: ${m.upward.length}`,
    ...m.upward.map((e) => `  ${e}`),
    `cycles between rooms: ${m.cycles.length}${m.cycles.length ? ` (${m.cycles.map((c) => c.join(' <-> ')).join('; ')})` : ''}`,
    'longest functions (lines):',
    ...m.longest.map((f) => `  ${String(f.lines).padStart(4)}  ${f.file}:${f.line}  ${f.name}`),
    `non-null assertions (!): ${m.assertions.total.nonNull}; as casts: ${m.assertions.total.as} (plus ${m.assertions.total.asConst} as const)`,
    `  by room (! / as): ${Object.entries(m.assertions.byRoom).filter(([, c]) => c.nonNull || c.as).map(([r, c]) => `${r} ${c.nonNull}/${c.as}`).join(', ')}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

module.exports = { sourceFiles, roomOf, imports, arrowRule, upwardImports, roomCycles, longestFunctions, assertionCounts, redundantNonNull, measure };

if (require.main === module) main(process.argv.slice(2));
