/**
 * PyTorch's pickle files (.pth / .pt), recognised by their first bytes and refused: unpickling runs
 * whatever code the file names, so melseg never does it. The refusal carries the commands that turn
 * such a file into safetensors with the user's own PyTorch (scripts/pytorch_interop.py holds the same
 * writer; test/interop/import-command.test.ts runs the printed commands as they are).
 *
 * What the bytes look like:
 *   zip      "PK\x03\x04": torch.save since PyTorch 1.6 (an archive whose first entry is
 *            <name>/data.pkl), also TorchScript and numpy's .npz
 *   pickle   0x80 <protocol 2..5>: torch.save(..., _use_new_zipfile_serialization=False), pickle.dump
 * A safetensors file has '{' at byte 8 (its JSON header starts there), which neither format has, so a
 * safetensors file whose header length happens to begin with these bytes is not mistaken for one.
 */

export type PickleKind = 'torch-zip' | 'zip' | 'pickle';

export interface PickleSniff {
  kind: PickleKind;
  /** What the file is, for messages: "a PyTorch zip checkpoint (torch.save)". */
  what: string;
}

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];
const PICKLE_PROTO = 0x80;
const BRACE = 0x7b;

/** The kind of pickle container `head` (the file's first bytes, 64 or more) starts, or null. */
export function sniffPickle(head: Uint8Array): PickleSniff | null {
  if (head.length > 8 && head[8] === BRACE) return null;
  if (ZIP_MAGIC.every((b, i) => head[i] === b)) {
    // Local file header: name length at 26 (uint16 LE), the name from 30.
    const nameLength = head.length >= 30 ? head[26] | (head[27] << 8) : 0;
    const name = Buffer.from(head.subarray(30, 30 + nameLength)).toString('latin1');
    if (/(^|\/)(data|constants)\.pkl$/.test(name) || /(^|\/)version$/.test(name) || /(^|\/)data\//.test(name))
      return { kind: 'torch-zip', what: 'a PyTorch zip checkpoint (what torch.save writes)' };
    return { kind: 'zip', what: `a zip archive${name ? ` (its first entry is ${JSON.stringify(name.slice(0, 80))})` : ''}, not a safetensors file` };
  }
  if (head[0] === PICKLE_PROTO && head[1] >= 2 && head[1] <= 5)
    return { kind: 'pickle', what: `a Python pickle (protocol ${head[1]}: torch.save's legacy format or pickle.dump)` };
  return null;
}

/** A path as one POSIX shell word. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The converter for PyTorch without the safetensors package: the safetensors layout written by hand
 * (8-byte little-endian header length, JSON header padded with spaces to a multiple of 8, then each
 * tensor's C-ordered little-endian bytes back to back). Floating tensors are saved as F32, the rest
 * (num_batches_tracked) as I64. Kept identical to save_safetensors in scripts/pytorch_interop.py.
 */
export const PLAIN_CONVERTER = `import json, struct, sys, torch
sd = torch.load(sys.argv[1], map_location='cpu', weights_only=True)
sd = sd.get('state_dict', sd)  # a training checkpoint {'state_dict': ...} or the state_dict itself
head, blobs, at = {}, [], 0
for k, v in sd.items():
    a = v.detach().cpu().numpy()
    a, dtype = (a.astype('<f4'), 'F32') if v.is_floating_point() else (a.astype('<i8'), 'I64')
    blobs.append(a.tobytes())
    head[k] = {'dtype': dtype, 'shape': list(a.shape), 'data_offsets': [at, at + len(blobs[-1])]}
    at += len(blobs[-1])
h = json.dumps(head).encode()
h += b' ' * (-len(h) % 8)
open(sys.argv[2], 'wb').write(struct.pack('<Q', len(h)) + h + b''.join(blobs))`;

/** The converter with the safetensors package installed (pip install safetensors). */
export const SAFETENSORS_CONVERTER =
  "import sys, torch; from safetensors.torch import save_file; sd = torch.load(sys.argv[1], map_location='cpu', weights_only=True); " +
  "save_file({k: v.contiguous() for k, v in sd.get('state_dict', sd).items()}, sys.argv[2])";

/** Where the converted file goes: beside the input, extension replaced by .safetensors. */
export function convertedName(file: string): string {
  return /\.(pth|pt|bin|pkl|ckpt|tar)$/i.test(file) ? file.replace(/\.[^./]+$/, '.safetensors') : `${file}.safetensors`;
}

/**
 * A refused pickle. Its message holds shell commands and a heredoc that must reach the terminal
 * unindented to be pasted as they are (commands print it verbatim, not through oclif's indenting
 * error printer).
 */
export class PickleRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PickleRefusedError';
  }
}

/** The refusal: what the file is, why melseg does not read it, and two ways to convert it. */
export function pickleRefusal(file: string, sniff: PickleSniff, next: (converted: string) => string): PickleRefusedError {
  const out = convertedName(file);
  const args = `${shellQuote(file)} ${shellQuote(out)}`;
  const why = sniff.kind === 'zip' ? 'melseg reads safetensors files only' : 'melseg never unpickles files (loading a pickle runs code from the file)';
  return new PickleRefusedError([
    `${file} is ${sniff.what}; ${why}. Convert the state_dict to safetensors with your PyTorch, then import that file.`,
    `With the safetensors package (pip install safetensors):`,
    `  python3 -c "${SAFETENSORS_CONVERTER}" ${args}`,
    `With plain PyTorch and numpy:`,
    `python3 - ${args} <<'EOF'`,
    PLAIN_CONVERTER,
    `EOF`,
    `then: ${next(out)}`,
  ].join('\n'));
}
