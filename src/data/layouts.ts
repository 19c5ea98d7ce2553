/**
 * Recognises a dataset folder's layout and pairs each image with its mask.
 *
 *   ph2:       <root>/PH2 Dataset images/IMD002/IMD002_Dermoscopic_Image/IMD002.bmp
 *              <root>/PH2 Dataset images/IMD002/IMD002_lesion/IMD002_lesion.bmp        (id IMD002)
 *   isic:      <root>/images/<id>.jpg|png + <root>/masks/<id>_segmentation.png
 *              (or the official <...>_Data/ + <...>_GroundTruth/ folders of an ISIC download)
 *   folders:   <root>/images/<stem>.<ext> + <root>/masks/<stem>.<ext>
 *   synthetic: the spec `synthetic` or `synthetic:N`
 * A folder that matches none of these but has exactly one subfolder is descended into (up to 3
 * levels), so e.g. `isic2017/` holding only `train/images` + `train/masks` works.
 */
import { existsSync, lstatSync, readdirSync, readlinkSync, statSync } from 'fs';
import * as path from 'path';

export type Layout = 'ph2' | 'isic' | 'folders' | 'synthetic';

export interface DetectedLayout {
  layout: Layout;
  /** The folder the layout was found in (for synthetic: the spec, e.g. `synthetic:64`). */
  root: string;
  /** isic / folders: where the images and masks are. */
  imagesDir?: string;
  masksDir?: string;
  /** synthetic: number of samples. */
  count?: number;
}

export interface SamplePair {
  id: string;
  image: string;
  mask: string;
}

export const IMAGE_EXTS = ['.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff'];
export const MASK_EXTS = ['.png', '.bmp', '.gif', '.tif', '.tiff', '.jpg', '.jpeg'];
export const SYNTHETIC_DEFAULT_COUNT = 64;
const PH2_IMAGES = 'PH2 Dataset images';
const PH2_ID = /^IMD\d+$/i;
const MAX_DESCENT = 3;

export const LAYOUT_HELP =
  'Expected one of:\n' +
  `  - PH2: <root>/${PH2_IMAGES}/IMD002/IMD002_Dermoscopic_Image/IMD002.bmp and .../IMD002_lesion/IMD002_lesion.bmp ` +
  `(the PH2Dataset folder, or its "${PH2_IMAGES}" folder; download: https://www.fc.up.pt/addi/ph2%20database.html)\n` +
  '  - ISIC: <root>/images/<id>.jpg + <root>/masks/<id>_segmentation.png, or the unzipped ISIC_*_Data + ' +
  'ISIC_*_GroundTruth folders (download: https://challenge.isic-archive.com/data/#2017)\n' +
  '  - folders: <root>/images/<name>.<ext> + <root>/masks/<name>.<ext> with identical file names\n' +
  "  - 'synthetic' or 'synthetic:N' for generated lesion-like images";

function subdirs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
}

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => (e.isFile() || e.isSymbolicLink()) && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
}

function ext(name: string): string {
  return path.extname(name).toLowerCase();
}

function stem(name: string): string {
  return name.slice(0, name.length - path.extname(name).length);
}

function findSub(names: string[], re: RegExp): string | undefined {
  return names.find((n) => re.test(n));
}

/** Why existsSync(p) is false: not there, a symlink loop, or a symlink to nothing (the caller names the path). */
export function whyMissing(p: string): string {
  const code = (f: () => unknown) => {
    try {
      f();
      return undefined;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code ?? 'error';
    }
  };
  const fix = `point the link at the dataset folder (ln -sfn DATASET ${p}) or pass the dataset folder itself`;
  const stat = code(() => statSync(p));
  if (stat === 'ELOOP') return `is a symlink loop (a link on the way leads back to itself); ${fix}`;
  if (code(() => lstatSync(p)) === undefined) return `is a symlink to ${readlinkSync(p)}, which does not exist; ${fix}`;
  return stat === 'EACCES' ? 'cannot be reached (permission denied on a folder on the way); check its permissions' : 'not found';
}

/** Recognises the layout of a folder (or the `synthetic[:N]` spec). Throws with guidance otherwise. */
export function detectLayout(spec: string): DetectedLayout {
  const syn = /^synthetic(?::(\d+))?$/.exec(spec.trim());
  if (syn) {
    const count = syn[1] === undefined ? SYNTHETIC_DEFAULT_COUNT : Number(syn[1]);
    if (!(count >= 1)) throw new Error(`Dataset spec '${spec}': synthetic needs N >= 1 samples, e.g. 'synthetic:64'`);
    return { layout: 'synthetic', root: `synthetic:${count}`, count };
  }
  const start = path.resolve(spec);
  if (!existsSync(start)) {
    const why = whyMissing(start);
    throw new Error(why === 'not found' ? `Dataset path not found: ${start}. ${LAYOUT_HELP}` : `Dataset path ${start} ${why}.`);
  }
  if (!statSync(start).isDirectory()) {
    throw new Error(`Dataset path ${start} is a file; expected a dataset folder. ${LAYOUT_HELP}`);
  }
  let dir = start;
  for (let depth = 0; ; depth++) {
    const subs = subdirs(dir);
    const ph2 = findSub(subs, /^PH2 Dataset images$/i);
    if (ph2) return { layout: 'ph2', root: path.join(dir, ph2) };
    if (subs.some((s) => PH2_ID.test(s))) return { layout: 'ph2', root: dir };
    const images = findSub(subs, /^images$/i);
    const masks = findSub(subs, /^masks$/i);
    if (images && masks) {
      const imagesDir = path.join(dir, images);
      const masksDir = path.join(dir, masks);
      const isIsic = files(masksDir).some((f) => /_segmentation$/i.test(stem(f)));
      return { layout: isIsic ? 'isic' : 'folders', root: dir, imagesDir, masksDir };
    }
    const data = findSub(subs, /_Data$/i);
    const truth = findSub(subs, /_GroundTruth$/i);
    if (data && truth) return { layout: 'isic', root: dir, imagesDir: path.join(dir, data), masksDir: path.join(dir, truth) };
    if (subs.length === 1 && depth < MAX_DESCENT) {
      dir = path.join(dir, subs[0]);
      continue;
    }
    const more = subs.length > 8 ? ` and ${subs.length - 8} more` : '';
    const found = subs.length ? `subfolders ${subs.slice(0, 8).map((s) => `'${s}'`).join(', ')}${more}` : 'no subfolders';
    throw new Error(`No known dataset layout in ${dir} (found ${found}). ${LAYOUT_HELP}`);
  }
}

function missingMaskError(missing: { image: string; expected: string }[], where: string, naming: string): Error {
  const list = missing
    .slice(0, 5)
    .map((m) => `  ${m.image} (expected ${m.expected})`)
    .join('\n');
  const more = missing.length > 5 ? `\n  ... and ${missing.length - 5} more` : '';
  return new Error(
    `${missing.length} image(s) in ${where} have no mask:\n${list}${more}\n` +
      `Masks are matched by name: ${naming}. Fix: add the missing masks, or remove those images from the dataset folder.`,
  );
}

function ph2Pairs(root: string): SamplePair[] {
  const ids = subdirs(root).filter((s) => PH2_ID.test(s));
  const pairs: SamplePair[] = [];
  const missing: { image: string; expected: string }[] = [];
  for (const id of ids) {
    const image = path.join(root, id, `${id}_Dermoscopic_Image`, `${id}.bmp`);
    const mask = path.join(root, id, `${id}_lesion`, `${id}_lesion.bmp`);
    if (!existsSync(image)) {
      throw new Error(
        `PH2 sample ${path.join(root, id)} has no dermoscopic image: expected ${image}. ` +
          'Fix: restore the file from the PH2 download, or delete the sample folder.',
      );
    }
    if (!existsSync(mask)) missing.push({ image, expected: mask });
    else pairs.push({ id, image, mask });
  }
  if (missing.length) throw missingMaskError(missing, root, '<id>/<id>_lesion/<id>_lesion.bmp');
  return pairs;
}

/** isic: mask stem = `<stem>_segmentation`; folders: mask stem = image stem. */
function folderPairs(d: DetectedLayout): SamplePair[] {
  const imagesDir = d.imagesDir!;
  const masksDir = d.masksDir!;
  const suffix = d.layout === 'isic' ? '_segmentation' : '';
  const maskByStem = new Map<string, string>();
  for (const f of files(masksDir)) {
    if (!MASK_EXTS.includes(ext(f))) continue;
    const s = stem(f).toLowerCase();
    if (!maskByStem.has(s)) maskByStem.set(s, path.join(masksDir, f));
  }
  const pairs: SamplePair[] = [];
  const seen = new Map<string, string>();
  const missing: { image: string; expected: string }[] = [];
  for (const f of files(imagesDir)) {
    // ISIC downloads put <id>_superpixels.png beside the images: not a sample.
    if (!IMAGE_EXTS.includes(ext(f)) || /_superpixels$/i.test(stem(f))) continue;
    const id = stem(f);
    const image = path.join(imagesDir, f);
    const prev = seen.get(id.toLowerCase());
    if (prev) {
      throw new Error(
        `Two images share the id '${id}': ${prev} and ${image}; expected one image per id. Fix: remove or rename one of them.`,
      );
    }
    seen.set(id.toLowerCase(), image);
    const mask = maskByStem.get((id + suffix).toLowerCase());
    if (!mask) missing.push({ image, expected: path.join(masksDir, `${id}${suffix}.png`) });
    else pairs.push({ id, image, mask });
  }
  if (missing.length) {
    const naming =
      d.layout === 'isic'
        ? `${masksDir}/<id>_segmentation.<ext> for image <id>.<ext> (ISIC)`
        : `${masksDir}/<name>.<ext> for image <name>.<ext>, or <name>_segmentation.<ext> (ISIC) when any mask is named so`;
    throw missingMaskError(missing, imagesDir, naming);
  }
  return pairs;
}

/** The (id, image, mask) triples of a detected folder layout, sorted by id. Throws if there are none. */
export function listPairs(d: DetectedLayout): SamplePair[] {
  if (d.layout === 'synthetic') throw new Error('listPairs: a synthetic dataset has no files');
  const pairs = d.layout === 'ph2' ? ph2Pairs(d.root) : folderPairs(d);
  if (pairs.length === 0) {
    const where = d.layout === 'ph2' ? d.root : d.imagesDir!;
    const expected =
      d.layout === 'ph2'
        ? 'IMDxxx sample folders'
        : `image files (${IMAGE_EXTS.join(', ')})`;
    throw new Error(`Dataset ${where} is empty: expected ${expected}. ${LAYOUT_HELP}`);
  }
  pairs.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return pairs;
}
