"""The data side of scripts/torch_train.py: files (atomic writes, safetensors, the batch dump), the
ISIC folder reader, the three augmentation pipelines, and seeded generators of test inputs.

A test oracle and a measuring tool, never a runtime dependency of melseg.

The batch dump (what `melseg train --dump-batches DIR` writes, and what `torch_train.py
--save-batches DIR` writes from PyTorch's batches):
  DIR/recipe.json                  {"model", "modelId", "loss", "lossId", "imageSize", "width",
                                    "epochs", "batchSize", "lr", "weightDecay", "schedule", "seed", ...}
  DIR/initial.ckpt                 safetensors: initial weights under the state_dict names
                                    (F32; num_batches_tracked I64), no optimizer tensors
  DIR/train/eEEE-bBBBB.image.npy   float32 [n,3,S,S], normalised; one per step, epochs 1-based,
  DIR/train/eEEE-bBBBB.mask.npy    float32 [n,1,S,S] 0/1                          batches 0-based
  DIR/valid.image.npy, valid.mask.npy, valid.ids.json   the validation set, not augmented

Subcommands (for tests and for preparing measurements):
  python3 torch_data.py fake-isic DIR [--images 8 --size 48 --seed 1]
  python3 torch_data.py split --data FOLDER --train 150 --valid 25 [--test 0] --seed 42 --out split.json
"""
import argparse
import io
import json
import math
import os
import re
import struct
import sys

import numpy as np
import torch


class InputError(Exception):
    """Bad input from the user: the message names the file or flag, what was expected, what was found, and a fix."""


# ---------------------------------------------------------------------------------------------------------
# Files: every write is verified and atomic (the rules of src/util/atomic.ts)

def write_atomic(path, data):
    """Writes bytes to a temp file in the same folder (O_EXCL), every byte, fsync, size check, rename, fsync
    the folder: a reader sees the old file or the new one, never a torn one."""
    path = os.path.abspath(path)
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, '.%s.%d.%s.tmp' % (os.path.basename(path), os.getpid(), os.urandom(4).hex()))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        view = memoryview(data)
        done = 0
        while done < len(view):
            done += os.write(fd, view[done:done + (1 << 30)])
        os.fsync(fd)
        size = os.fstat(fd).st_size
        if size != len(view):
            raise OSError('%s: wrote %d bytes but the file holds %d (disk full?); the old file is kept' % (path, len(view), size))
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    os.close(fd)
    os.replace(tmp, path)
    try:
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass  # some filesystems refuse to fsync a folder; the file itself is fsync'ed


def npy_bytes(array):
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
    return buf.getvalue()


def load_npy(path, what):
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise InputError('%s not found: expected %s (a .npy file); check the dump folder' % (path, what))
    except (ValueError, OSError) as e:
        raise InputError('%s is not a readable .npy file (%s): expected %s; re-create the dump' % (path, e, what))


# ---------------------------------------------------------------------------------------------------------
# safetensors (8-byte LE header length, JSON header, raw little-endian data): F32 and I64 only

_DTYPES = {'F32': np.dtype('<f4'), 'I64': np.dtype('<i8')}


def read_safetensors(path):
    """Returns ({name: ndarray}, metadata). Checks the header's bounds before reading tensors."""
    try:
        with open(path, 'rb') as f:
            raw = f.read()
    except FileNotFoundError:
        raise InputError('%s not found: expected a safetensors checkpoint (initial weights); check the dump folder' % path)
    fix = 'expected a safetensors file written by melseg or torch_train.py; re-create it'
    if len(raw) < 8:
        raise InputError('%s: %d bytes, too short for a safetensors header; %s' % (path, len(raw), fix))
    n = struct.unpack('<Q', raw[:8])[0]
    if n > len(raw) - 8:
        raise InputError('%s: the header length field says %d bytes but %d follow; the file is truncated; %s' % (path, n, len(raw) - 8, fix))
    try:
        header = json.loads(raw[8:8 + n].decode('utf-8'))
    except (UnicodeDecodeError, ValueError) as e:
        raise InputError('%s: the header is not valid JSON (%s); %s' % (path, e, fix))
    body = memoryview(raw)[8 + n:]
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        dtype = _DTYPES.get(info.get('dtype'))
        if dtype is None:
            raise InputError('%s: tensor "%s" has dtype %s; expected F32 or I64 (convert with v.float() / v.long() before saving)' % (path, name, info.get('dtype')))
        b, e = info['data_offsets']
        count = int(np.prod(info['shape'], dtype=np.int64))
        if not (0 <= b <= e <= len(body)) or e - b != count * dtype.itemsize:
            raise InputError('%s: tensor "%s" (%s %s) has data_offsets [%d, %d] that do not fit its size or the file; %s'
                             % (path, name, info['dtype'], info['shape'], b, e, fix))
        out[name] = np.frombuffer(body[b:e], dtype=dtype).reshape(info['shape']).copy()
    return out, header.get('__metadata__', {})


def safetensors_bytes(tensors, metadata=None):
    """Tensors in name order, contiguous; the header padded with spaces to a multiple of 8 (the format's alignment)."""
    header = {}
    if metadata:
        header['__metadata__'] = {k: str(v) for k, v in metadata.items()}
    chunks = []
    offset = 0
    for name in sorted(tensors):
        a = np.asarray(tensors[name])
        if a.dtype.kind == 'f':
            a, code = a.astype('<f4'), 'F32'
        elif a.dtype.kind in 'iu':
            a, code = a.astype('<i8'), 'I64'
        else:
            raise ValueError('tensor %s: dtype %s, expected a float or an integer array' % (name, a.dtype))
        data = np.ascontiguousarray(a).tobytes()
        header[name] = {'dtype': code, 'shape': list(a.shape), 'data_offsets': [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * (-len(text) % 8)
    return struct.pack('<Q', len(text)) + text + b''.join(chunks)


def state_dict_arrays(model):
    return {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}


def checkpoint_meta(model_id, model_name, loss_id, loss_name, size, width, **extra):
    """melseg's checkpoint metadata (src/checkpoint/checkpoint.ts), so `melseg evaluate` can read the file."""
    meta = {'model': model_id, 'modelName': model_name, 'loss': loss_id, 'lossName': loss_name, 'imageSize': size, 'width': width}
    meta.update(extra)
    return {'format': 'pt', 'melseg': json.dumps(meta), 'melseg_schema': '1'}


# ---------------------------------------------------------------------------------------------------------
# The batch dump

RECIPE_KEYS = {'model': str, 'modelId': int, 'loss': str, 'lossId': int, 'imageSize': int, 'width': (int, float),
               'epochs': int, 'batchSize': int, 'lr': (int, float), 'weightDecay': (int, float), 'schedule': str, 'seed': int}
BATCH_FILE = re.compile(r'^e(\d+)-b(\d+)\.(image|mask)\.npy$')


def batch_stem(epoch, batch):
    return 'e%03d-b%04d' % (epoch, batch)


class Dump:
    """A batch dump folder, read lazily: the recipe and validation set at once, training batches on demand."""

    def __init__(self, folder):
        self.dir = folder
        if not os.path.isdir(folder):
            raise InputError('--batches %s: not a folder; expected a batch dump (recipe.json, initial.ckpt, train/, valid.*.npy) '
                             'as written by `melseg train --dump-batches DIR` or `torch_train.py --save-batches DIR`' % folder)
        self.recipe = self._recipe(os.path.join(folder, 'recipe.json'))
        self.initial, _ = read_safetensors(os.path.join(folder, 'initial.ckpt'))
        self.epochs = self._index(os.path.join(folder, 'train'))
        S = self.recipe['imageSize']
        self.valid_image = load_npy(os.path.join(folder, 'valid.image.npy'), 'float32 [n,3,%d,%d]' % (S, S))
        self.valid_mask = load_npy(os.path.join(folder, 'valid.mask.npy'), 'float32 [n,1,%d,%d]' % (S, S))
        self._check_pair(os.path.join(folder, 'valid'), self.valid_image, self.valid_mask, None)
        ids_file = os.path.join(folder, 'valid.ids.json')
        try:
            with open(ids_file) as f:
                self.valid_ids = json.load(f)
        except FileNotFoundError:
            raise InputError('%s not found: expected a JSON list of the validation ids; check the dump folder' % ids_file)
        except ValueError as e:
            raise InputError('%s is not valid JSON (%s): expected a list of the validation ids' % (ids_file, e))
        if not isinstance(self.valid_ids, list) or len(self.valid_ids) != len(self.valid_image):
            raise InputError('%s: expected a list of %d ids (one per image of valid.image.npy), found %s'
                             % (ids_file, len(self.valid_image), type(self.valid_ids).__name__ if not isinstance(self.valid_ids, list) else '%d ids' % len(self.valid_ids)))

    def _recipe(self, path):
        try:
            with open(path) as f:
                r = json.load(f)
        except FileNotFoundError:
            raise InputError('%s not found: expected the dump\'s recipe (model, loss, imageSize, width, batchSize, lr, ...)' % path)
        except ValueError as e:
            raise InputError('%s is not valid JSON (%s); re-create the dump' % (path, e))
        if not isinstance(r, dict):
            raise InputError('%s: expected a JSON object, found %s' % (path, type(r).__name__))
        for key, kind in RECIPE_KEYS.items():
            if key not in r:
                raise InputError('%s: key "%s" is missing; expected %s' % (path, key, ', '.join(RECIPE_KEYS)))
            if isinstance(r[key], bool) or not isinstance(r[key], kind):
                raise InputError('%s: "%s" is %s; expected a %s' % (path, key, json.dumps(r[key]), 'string' if kind is str else 'number'))
        return r

    def _index(self, folder):
        """{epoch: [stem of batch 0, 1, ...]}, checking that epochs start at 1 and batches at 0 without gaps."""
        if not os.path.isdir(folder):
            raise InputError('%s not found: expected the training batches eEEE-bBBBB.image.npy / .mask.npy' % folder)
        found = {}
        for name in os.listdir(folder):
            m = BATCH_FILE.match(name)
            if m:
                found.setdefault((int(m.group(1)), int(m.group(2))), set()).add(m.group(3))
        if not found:
            raise InputError('%s holds no eEEE-bBBBB.image.npy files; expected one image/mask pair per training step' % folder)
        epochs = {}
        for (e, b), kinds in sorted(found.items()):
            if kinds != {'image', 'mask'}:
                missing = ({'image', 'mask'} - kinds).pop()
                raise InputError('%s: %s.%s.npy is missing (its pair exists); re-create the dump' % (folder, batch_stem(e, b), missing))
            epochs.setdefault(e, []).append(batch_stem(e, b))
        numbers = sorted(epochs)
        if numbers != list(range(1, len(numbers) + 1)):
            raise InputError('%s has batches for epochs %s; expected epochs 1..N without gaps' % (folder, numbers))
        for e in numbers:
            bs = [int(s.split('-b')[1]) for s in epochs[e]]
            if bs != list(range(len(bs))):
                raise InputError('%s: epoch %d has batches %s; expected 0..%d without gaps' % (folder, e, bs, len(bs) - 1))
        return [epochs[e] for e in numbers]

    def _check_pair(self, stem, image, mask, batch_size):
        S = self.recipe['imageSize']
        n = image.shape[0] if image.ndim == 4 else -1
        if image.dtype != np.float32 or image.shape[1:] != (3, S, S):
            raise InputError('%s.image.npy: expected float32 [n,3,%d,%d], found %s %s' % (stem, S, S, image.dtype, list(image.shape)))
        if mask.dtype != np.float32 or mask.shape != (n, 1, S, S):
            raise InputError('%s.mask.npy: expected float32 [%d,1,%d,%d] (as its image), found %s %s' % (stem, n, S, S, mask.dtype, list(mask.shape)))
        if batch_size is not None and not 1 <= n <= batch_size:
            raise InputError('%s.image.npy holds %d images; expected 1..%d (batchSize in recipe.json)' % (stem, n, batch_size))

    def batch(self, epoch, b):
        """Batch b (0-based) of epoch (1-based) as float32 tensors."""
        stem = os.path.join(self.dir, 'train', self.epochs[epoch - 1][b])
        image = load_npy(stem + '.image.npy', 'float32 [n,3,S,S]')
        mask = load_npy(stem + '.mask.npy', 'float32 [n,1,S,S]')
        self._check_pair(stem, image, mask, self.recipe['batchSize'])
        return torch.from_numpy(image), torch.from_numpy(mask)


class DumpWriter:
    """Writes the dump format above, one file at a time, each atomically."""

    def __init__(self, folder, recipe, state, meta, valid_image, valid_mask, valid_ids):
        self.dir = folder
        os.makedirs(os.path.join(folder, 'train'), exist_ok=True)
        write_atomic(os.path.join(folder, 'recipe.json'), (json.dumps(recipe, indent=2) + '\n').encode())
        write_atomic(os.path.join(folder, 'initial.ckpt'), safetensors_bytes(state, meta))
        write_atomic(os.path.join(folder, 'valid.image.npy'), npy_bytes(np.asarray(valid_image, np.float32)))
        write_atomic(os.path.join(folder, 'valid.mask.npy'), npy_bytes(np.asarray(valid_mask, np.float32)))
        write_atomic(os.path.join(folder, 'valid.ids.json'), (json.dumps(list(valid_ids)) + '\n').encode())

    def batch(self, epoch, b, image, mask):
        stem = os.path.join(self.dir, 'train', batch_stem(epoch, b))
        write_atomic(stem + '.image.npy', npy_bytes(np.asarray(image, np.float32)))
        write_atomic(stem + '.mask.npy', npy_bytes(np.asarray(mask, np.float32)))


# ---------------------------------------------------------------------------------------------------------
# ISIC folders: <root>/images/<id>.jpg|png + <root>/masks/<id>_segmentation.png

IMAGE_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff')
MASK_EXTS = ('.png', '.bmp', '.gif', '.tif', '.tiff', '.jpg', '.jpeg')
ISIC_HELP = 'expected an ISIC folder: <root>/images/<id>.jpg + <root>/masks/<id>_segmentation.png'


def isic_folders(root):
    """(images dir, masks dir); a folder holding just one subfolder is descended into (as melseg does), 3 levels at most."""
    if not os.path.isdir(root):
        raise InputError('--data %s: not a folder; %s' % (root, ISIC_HELP))
    folder = root
    for _ in range(4):
        subs = sorted(d for d in os.listdir(folder) if os.path.isdir(os.path.join(folder, d)) and not d.startswith('.'))
        lower = {d.lower(): d for d in subs}
        if 'images' in lower and 'masks' in lower:
            return os.path.join(folder, lower['images']), os.path.join(folder, lower['masks'])
        if len(subs) != 1:
            break
        folder = os.path.join(folder, subs[0])
    raise InputError('--data %s: found no images/ and masks/ subfolders; %s' % (root, ISIC_HELP))


def isic_files(root):
    """{id: (image path, mask path)} of every image that has a mask."""
    images_dir, masks_dir = isic_folders(root)
    masks = {}
    for f in os.listdir(masks_dir):
        stem, ext = os.path.splitext(f)
        if ext.lower() in MASK_EXTS and stem.lower().endswith('_segmentation'):
            masks.setdefault(stem[:-len('_segmentation')].lower(), os.path.join(masks_dir, f))
    out = {}
    for f in sorted(os.listdir(images_dir)):
        stem, ext = os.path.splitext(f)
        if ext.lower() in IMAGE_EXTS and not stem.lower().endswith('_superpixels') and stem.lower() in masks:
            out[stem] = (os.path.join(images_dir, f), masks[stem.lower()])
    return out


def read_split(path, files):
    """melseg's {"train": [...], "valid": [...], "test": [...]}; every id must have an image and a mask."""
    try:
        with open(path) as f:
            split = json.load(f)
    except FileNotFoundError:
        raise InputError('--split %s not found; expected a JSON file {"train": [...], "valid": [...], "test": [...]} '
                         '(melseg saves one as artifacts/<run>/split.json; `python3 scripts/torch_data.py split` makes one)' % path)
    except ValueError as e:
        raise InputError('--split %s is not valid JSON (%s); expected {"train": [...], "valid": [...], "test": [...]}' % (path, e))
    if not isinstance(split, dict):
        raise InputError('--split %s: expected an object {"train": [...], "valid": [...], "test": [...]}, found %s' % (path, type(split).__name__))
    out = {}
    for part in ('train', 'valid', 'test'):
        ids = split.get(part, [])
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise InputError('--split %s: "%s" must be a list of id strings, found %s' % (path, part, json.dumps(ids)[:80]))
        unknown = [i for i in ids if i not in files]
        if unknown:
            raise InputError('--split %s names %d id(s) of "%s" that have no image + mask in the data folder: %s; '
                             'use the split made for this dataset' % (path, len(unknown), part, ', '.join(unknown[:10])))
        out[part] = ids
    for part in ('train', 'valid'):
        if not out[part]:
            raise InputError('--split %s: "%s" is empty; expected at least one id' % (path, part))
    return out


def decode_image(path):
    """8-bit RGB, HWC (PIL; EXIF orientation not applied, as melseg and the study)."""
    from PIL import Image
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert('RGB'), dtype=np.uint8).copy()
    except OSError as e:
        raise InputError('cannot decode image %s (%s); expected a JPEG/PNG/BMP/TIFF file: re-export it or drop it from the split' % (path, e))


def decode_mask(path):
    """0/1 uint8 HW, melseg's rule (src/data/image.ts): g = round((R+G+B)/3), lesion = 2g > max(g)."""
    g = np.rint(decode_image(path).astype(np.float64).sum(axis=2) / 3)
    return (2 * g > g.max()).astype(np.uint8)


# ---------------------------------------------------------------------------------------------------------
# Augmentation pipelines. Each draws every random parameter of a sample from its own generator
# (seeded by seed, epoch and sample index: a pure function of them, like melseg's), then applies them
# to image and mask alike. Images are float CHW in [0, 1] until the ImageNet normalisation at the end.

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def _tv():
    import torchvision.transforms.functional as F
    from torchvision.transforms import InterpolationMode
    return F, InterpolationMode.BILINEAR


def generator(*key):
    """A torch.Generator seeded from the integers in key (numpy's SeedSequence mixes them)."""
    state = np.random.SeedSequence([int(k) for k in key]).generate_state(2, np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 31 ^ int(state[1]))


def _uniform(gen, lo, hi):
    return float(torch.empty(1).uniform_(lo, hi, generator=gen))


def _coin(gen, p):
    return bool(torch.rand(1, generator=gen) < p)


def crop_params(gen, height, width, scale=(0.75, 1.0), ratio=(3 / 4, 4 / 3)):
    """torchvision 0.14 RandomResizedCrop.get_params with an explicit generator: (top, left, h, w)."""
    area = height * width
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target = area * _uniform(gen, scale[0], scale[1])
        aspect = math.exp(_uniform(gen, log_ratio[0], log_ratio[1]))
        w = int(round(math.sqrt(target * aspect)))
        h = int(round(math.sqrt(target / aspect)))
        if 0 < w <= width and 0 < h <= height:
            top = int(torch.randint(0, height - h + 1, (1,), generator=gen))
            left = int(torch.randint(0, width - w + 1, (1,), generator=gen))
            return top, left, h, w
    in_ratio = width / height
    if in_ratio < min(ratio):
        w, h = width, int(round(width / min(ratio)))
    elif in_ratio > max(ratio):
        h, w = height, int(round(height * max(ratio)))
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


def jitter_params(gen, b, c, s, h):
    """ColorJitter.get_params: a random order of the four ops and their factors (None = op off)."""
    order = torch.randperm(4, generator=gen).tolist()
    draw = lambda x, lo, hi: None if x == 0 else _uniform(gen, lo, hi)  # noqa: E731
    return {'order': order, 'brightness': draw(b, 1 - b, 1 + b), 'contrast': draw(c, 1 - c, 1 + c),
            'saturation': draw(s, 1 - s, 1 + s), 'hue': draw(h, -h, h)}


def apply_jitter(img, j):
    """ColorJitter.forward: the ops in j's order; a factor 1 (hue 0) or None skips its op."""
    F, _ = _tv()
    for op in j['order']:
        if op == 0 and j['brightness'] not in (None, 1):
            img = F.adjust_brightness(img, j['brightness'])
        elif op == 1 and j['contrast'] not in (None, 1):
            img = F.adjust_contrast(img, j['contrast'])
        elif op == 2 and j['saturation'] not in (None, 1):
            img = F.adjust_saturation(img, j['saturation'])
        elif op == 3 and j['hue'] not in (None, 0):
            img = F.adjust_hue(img, j['hue'])
    return img


def normalise(img):
    F, _ = _tv()
    return F.normalize(img, MEAN, STD)


def _to_float(image_u8):
    """HWC uint8 -> CHW float in [0, 1]."""
    return torch.from_numpy(image_u8).permute(2, 0, 1).float() / 255


def _joint(img, mask):
    return torch.cat([img, torch.from_numpy(mask)[None].float()], 0)


def _split(x):
    """Geometry was applied to image + mask stacked as 4 channels; the mask is then binarised at 0.5."""
    return x[:3], (x[3:] > 0.5).float()


class PlainPipeline:
    """The issue's plain script: RandomResizedCrop(S, scale 0.75-1) -> RandomHorizontalFlip -> RandomVerticalFlip
    -> ColorJitter(0.1, 0.1, 0.1) -> Normalize(ImageNet), from the full-resolution image. The crop is resized
    bilinear WITH antialiasing (what torchvision does on PIL images, which such a script feeds it), the mask
    alike, then > 0.5. Validation: Resize((S, S)), bilinear, antialiased."""
    name = 'plain'

    def __init__(self, size):
        self.size = size

    def prepare(self, image_u8, mask_u8):
        return image_u8, mask_u8

    def train(self, sample, gen):
        F, bilinear = _tv()
        image, mask = sample
        top, left, h, w = crop_params(gen, image.shape[0], image.shape[1])
        x = F.resized_crop(_joint(_to_float(image), mask), top, left, h, w, [self.size, self.size], bilinear, antialias=True)
        if _coin(gen, 0.5):
            x = x.flip(-1)
        if _coin(gen, 0.5):
            x = x.flip(-2)
        img, m = _split(x)
        img = apply_jitter(img, jitter_params(gen, 0.1, 0.1, 0.1, 0))
        return normalise(img), m

    def valid(self, sample):
        F, bilinear = _tv()
        image, mask = sample
        img, m = _split(F.resize(_joint(_to_float(image), mask), [self.size, self.size], bilinear, antialias=True))
        return normalise(img), m


class StudyPipeline(PlainPipeline):
    """The study's order: photometric ops at full resolution on the image (GaussianBlur((5, 9), sigma 0.1-1) on
    every sample, RandomGrayscale(0.1), RandomAutocontrast(0.5), ColorJitter(0.1, 0.1, 0.1, 0.1)), then
    RandomResizedCrop(S, scale 0.75-1, antialias=False) + flips on image and mask together (mask bilinear,
    then > 0.5), then Normalize(ImageNet). Validation as plain: Resize((S, S)), antialiased."""
    name = 'study'

    def train(self, sample, gen):
        F, bilinear = _tv()
        image, mask = sample
        img = _to_float(image)
        sigma = _uniform(gen, 0.1, 1.0)
        img = F.gaussian_blur(img, [5, 9], [sigma, sigma])  # kernel [x, y]: 5 wide, 9 high
        if _coin(gen, 0.1):
            img = F.rgb_to_grayscale(img, 3)
        if _coin(gen, 0.5):
            img = F.autocontrast(img)
        img = apply_jitter(img, jitter_params(gen, 0.1, 0.1, 0.1, 0.1))
        top, left, h, w = crop_params(gen, image.shape[0], image.shape[1])
        x = F.resized_crop(_joint(img, mask), top, left, h, w, [self.size, self.size], bilinear, antialias=False)
        if _coin(gen, 0.5):
            x = x.flip(-1)
        if _coin(gen, 0.5):
            x = x.flip(-2)
        img, m = _split(x)
        return normalise(img), m


def nearest_exact(mask_u8, box, size):
    """melseg's resampleNearest: output o reads box.x + min(floor((o + 0.5) w / S), w - 1), in integers."""
    top, left, h, w = box
    o = np.arange(size)
    ys = top + np.minimum((2 * o + 1) * h // (2 * size), h - 1)
    xs = left + np.minimum((2 * o + 1) * w // (2 * size), w - 1)
    return mask_u8[ys[:, None], xs[None, :]]


def melseg_resize(image_u8, mask_u8, size):
    """melseg's dataset preparation (src/data/image.ts): the image resized to S x S with an antialiased
    bilinear (triangle) filter and rounded to 8 bits, as PIL's BILINEAR resize does; the mask by nearest
    neighbour at pixel centres. (melseg computes in float and rounds once; PIL in fixed point: values may
    differ by 1 in 255.)"""
    from PIL import Image
    img = np.array(Image.fromarray(image_u8).resize((size, size), Image.BILINEAR), dtype=np.uint8)
    return img, nearest_exact(mask_u8, (0, 0, mask_u8.shape[0], mask_u8.shape[1]), size)


def melseg_params(gen, size):
    """melseg's drawParams (src/data/augment.ts) in its JSON form: the same choices, drawn from gen."""
    top, left, h, w = crop_params(gen, size, size)
    flip_x = _coin(gen, 0.5)
    flip_y = _coin(gen, 0.5)
    sigma = _uniform(gen, 0.1, 1.0)  # blurP = 1: every sample is blurred
    grey = _coin(gen, 0.1)
    auto = _coin(gen, 0.5)
    j = jitter_params(gen, 0.1, 0.1, 0.1, 0.1)
    return {'size': size, 'crop': {'x': left, 'y': top, 'w': w, 'h': h}, 'flipX': flip_x, 'flipY': flip_y,
            'blur': {'kx': 5, 'ky': 9, 'sigma': sigma}, 'greyscale': grey, 'autocontrast': auto, 'jitter': j}


def melseg_apply(params, image_u8, mask_u8):
    """melseg's applyAugment + toTensor on an S x S sample: crop resized bilinear without antialiasing (crops
    only enlarge), mask nearest; flips; blur, greyscale, autocontrast and colour jitter at S; Normalize."""
    F, bilinear = _tv()
    S = params['size']
    c = params['crop']
    img = F.resized_crop(_to_float(image_u8), c['y'], c['x'], c['h'], c['w'], [S, S], bilinear, antialias=False)
    mask = torch.from_numpy(nearest_exact(mask_u8, (c['y'], c['x'], c['h'], c['w']), S).astype(np.float32))[None]
    if params['flipX']:
        img, mask = img.flip(-1), mask.flip(-1)
    if params['flipY']:
        img, mask = img.flip(-2), mask.flip(-2)
    if params['blur']:
        b = params['blur']
        img = F.gaussian_blur(img, [b['kx'], b['ky']], [b['sigma'], b['sigma']])
    if params['greyscale']:
        img = F.rgb_to_grayscale(img, 3)
    if params['autocontrast']:
        img = F.autocontrast(img)
    img = apply_jitter(img, params['jitter'])
    return normalise(img), mask


class MelsegPipeline:
    """melseg's pipeline: every image resized to S x S first (melseg_resize), then crop/flip from that and
    the photometric ops at S (melseg_apply), as src/data/augment.ts does. Validation: the resized image."""
    name = 'melseg'

    def __init__(self, size):
        self.size = size

    def prepare(self, image_u8, mask_u8):
        return melseg_resize(image_u8, mask_u8, self.size)

    def train(self, sample, gen):
        return melseg_apply(melseg_params(gen, self.size), *sample)

    def valid(self, sample):
        image, mask = sample
        return normalise(_to_float(image)), torch.from_numpy(mask.astype(np.float32))[None]


PIPELINES = {p.name: p for p in (PlainPipeline, StudyPipeline, MelsegPipeline)}


# ---------------------------------------------------------------------------------------------------------
# Seeded generators of test inputs

def lesion_sample(rng, size):
    """A lesion-like RGB image (dark ellipse on skin tone, noise) and its 0/1 mask."""
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    cy, cx = rng.uniform(0.3, 0.7, 2) * size
    ry, rx = rng.uniform(0.12, 0.3, 2) * size
    inside = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1
    skin = np.array([200, 150, 130]) + rng.normal(0, 8, 3)
    lesion = np.array([90, 55, 40]) + rng.normal(0, 8, 3)
    img = np.where(inside[..., None], lesion, skin) + rng.normal(0, 12, (size, size, 3))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8), inside.astype(np.uint8)


def fake_isic(folder, images, size, seed):
    """images/<id>.jpg + masks/<id>_segmentation.png (0/255) of lesion_sample images."""
    from PIL import Image
    rng = np.random.default_rng(seed)
    os.makedirs(os.path.join(folder, 'images'), exist_ok=True)
    os.makedirs(os.path.join(folder, 'masks'), exist_ok=True)
    for k in range(images):
        img, mask = lesion_sample(rng, size)
        name = 'ISIC_%07d' % k
        Image.fromarray(img).save(os.path.join(folder, 'images', name + '.jpg'), quality=95)
        Image.fromarray(mask * 255).save(os.path.join(folder, 'masks', name + '_segmentation.png'))


def make_split(root, train, valid, test, seed):
    """A seeded subset split of an ISIC folder: ids shuffled by numpy's default_rng(seed), then cut."""
    ids = sorted(isic_files(root))
    if train + valid + test > len(ids):
        raise InputError('--data %s has %d images; --train %d --valid %d --test %d needs %d' % (root, len(ids), train, valid, test, train + valid + test))
    order = [ids[i] for i in np.random.default_rng(seed).permutation(len(ids))]
    return {'train': sorted(order[:train]), 'valid': sorted(order[train:train + valid]), 'test': sorted(order[train + valid:train + valid + test])}


def main(argv):
    p = argparse.ArgumentParser(prog='torch_data.py', description=__doc__.split('\n\n')[0])
    sub = p.add_subparsers(dest='cmd', required=True)
    i = sub.add_parser('fake-isic', help='a seeded ISIC-layout folder of generated lesions (tests)')
    i.add_argument('dir')
    i.add_argument('--images', type=int, default=8)
    i.add_argument('--size', type=int, default=48)
    i.add_argument('--seed', type=int, default=1)
    s = sub.add_parser('split', help='a seeded train/valid/test subset split of an ISIC folder')
    s.add_argument('--data', required=True)
    s.add_argument('--train', type=int, required=True)
    s.add_argument('--valid', type=int, required=True)
    s.add_argument('--test', type=int, default=0)
    s.add_argument('--seed', type=int, default=0)
    s.add_argument('--out', required=True)
    a = p.parse_args(argv)
    try:
        if a.cmd == 'fake-isic':
            fake_isic(a.dir, a.images, a.size, a.seed)
        else:
            split = make_split(a.data, a.train, a.valid, a.test, a.seed)
            write_atomic(a.out, (json.dumps(split, indent=2) + '\n').encode())
    except InputError as e:
        sys.exit('torch_data.py: %s' % e)


if __name__ == '__main__':
    # run through the importable module, so torch_train.py and this CLI share one InputError class
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import torch_data
    torch_data.main(sys.argv[1:])
