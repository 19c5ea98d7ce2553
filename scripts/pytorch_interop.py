"""melseg <-> PyTorch with torch and numpy only (the safetensors package is not needed). docs/pytorch.md explains.

  python3 scripts/pytorch_interop.py to-safetensors weights.pth weights.safetensors
      a torch.save'd state_dict (or {'state_dict': ...}) -> safetensors, for `melseg import`
  python3 scripts/pytorch_interop.py predict best.ckpt lesion.jpg lesion_mask.png [threshold]
      melseg's checkpoint in the study's PyTorch network -> the mask `melseg predict` writes (raw settings)

In your own code (scripts/ on sys.path for torch_models):
  net, meta = load_melseg('best.ckpt')          # load_state_dict(strict=True), eval mode
  p = torch.sigmoid(net(x))                     # x: [N, 3, S, S] normalised as below
"""
import json
import struct
import sys

import numpy as np
import torch


def save_safetensors(sd, path):
    """A state_dict as safetensors: 8-byte little-endian header length, a JSON header padded with spaces to
    a multiple of 8, then each tensor's C-ordered little-endian bytes. Floats as F32, the rest as I64."""
    head, blobs, at = {}, [], 0
    for k, v in sd.items():
        a = v.detach().cpu().numpy()
        a, dtype = (a.astype('<f4'), 'F32') if v.is_floating_point() else (a.astype('<i8'), 'I64')
        blobs.append(a.tobytes())
        head[k] = {'dtype': dtype, 'shape': list(a.shape), 'data_offsets': [at, at + len(blobs[-1])]}
        at += len(blobs[-1])
    h = json.dumps(head).encode()
    h += b' ' * (-len(h) % 8)
    open(path, 'wb').write(struct.pack('<Q', len(h)) + h + b''.join(blobs))


def read_safetensors(path):
    """{name: tensor} and the metadata of a safetensors file (F32 and I64, what melseg writes)."""
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        body = f.read()
    meta = header.pop('__metadata__', {})
    dtypes = {'F32': '<f4', 'I64': '<i8'}
    tensors = {}
    for name, e in header.items():
        begin, end = e['data_offsets']
        a = np.frombuffer(body[begin:end], dtype=dtypes[e['dtype']]).reshape(e['shape'])
        tensors[name] = torch.from_numpy(a.astype(a.dtype.newbyteorder('=')))
    return tensors, meta


def load_melseg(path, net=None):
    """A melseg checkpoint in a PyTorch network, in eval mode. `net`: any module with the study's state_dict
    names (e.g. the study's own UNet(mode='dilate') at width 1); default: scripts/torch_models.py's twin of
    the checkpoint's network, at its width (base = round(64 w), halves rounded up as JavaScript's Math.round)."""
    tensors, meta = read_safetensors(path)
    m = json.loads(meta['melseg'])
    if net is None:
        from torch_models import make_model
        net = make_model(m['model'], base=max(1, int(np.floor(64 * m['width'] + 0.5))), size=m['imageSize'])
    state = {k: v for k, v in tensors.items() if not k.startswith('__optim__.')}  # last.ckpt's AdamW moments
    net.load_state_dict(state, strict=True)
    return net.eval(), m


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def to_input(rgb):
    """uint8 RGB [S, S, 3] -> the network input [1, 3, S, S]: (v / 255 - mean) / std per channel, computed as
    melseg does (v * 1 / (255 std) - mean / std in float64, then float32), so the inputs are the same bits."""
    a = np.array([1 / (255 * s) for s in IMAGENET_STD])
    b = np.array([-m / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD)])
    x = (rgb.astype(np.float64) * a + b).astype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None]


def _taps(n_in, n_out):
    """Triangle-filter taps of one axis (src/data/resample.ts): output o is centred at c = (o + 0.5) n_in / n_out,
    its support widened to the scale when shrinking (PIL's BILINEAR), weights normalised, stored as float32."""
    scale = n_in / n_out
    support = max(scale, 1.0)
    c = (np.arange(n_out) + 0.5) * scale
    lo = np.maximum(0, np.floor(c - support)).astype(np.int64)
    hi = np.minimum(n_in - 1, np.ceil(c + support)).astype(np.int64)
    idx = lo[:, None] + np.arange(int(np.ceil(support)) * 2 + 3)[None, :]
    w = np.where(idx <= hi[:, None], np.maximum(0, 1 - np.abs(idx + 0.5 - c[:, None]) / support), 0)
    total = np.zeros(n_out)
    for k in range(w.shape[1]):  # summed in tap order, as melseg does
        total += w[:, k]
    return np.minimum(idx, n_in - 1), (w / total[:, None]).astype(np.float32).astype(np.float64)


def resize_like_melseg(rgb, size):
    """uint8 [H, W, 3] -> [size, size, 3] as `melseg predict` squashes an image: horizontal pass (float64 sums
    stored as float32), vertical pass (float32 accumulator), rounded to 8 bits once. PIL's
    Image.resize(..., Image.BILINEAR) is close but rounds between its passes: one 8-bit level apart here and
    there, which moves pixels near the threshold."""
    ix, wx = _taps(rgb.shape[1], size)
    iy, wy = _taps(rgb.shape[0], size)
    src = rgb.astype(np.float64)
    tmp = np.zeros((rgb.shape[0], size, 3))
    for k in range(ix.shape[1]):
        tmp += wx[:, k][None, :, None] * src[:, ix[:, k], :]
    tmp = tmp.astype(np.float32).astype(np.float64)
    out = np.zeros((size, size, 3), dtype=np.float32)
    for k in range(iy.shape[1]):
        out = (out.astype(np.float64) + wy[:, k][:, None, None] * tmp[iy[:, k], :, :]).astype(np.float32)
    return np.clip(np.floor(out.astype(np.float64) + 0.5), 0, 255).astype(np.uint8)


def probability_map(net, size, image_path):
    """What `melseg predict` computes before thresholding: the image squashed to S x S, the network's
    probabilities, upsampled to the image's size (bilinear, half-pixel centres)."""
    from PIL import Image
    rgb = np.asarray(Image.open(image_path).convert('RGB'))
    with torch.no_grad():
        p = torch.sigmoid(net(to_input(resize_like_melseg(rgb, size))))
        p = torch.nn.functional.interpolate(p, size=rgb.shape[:2], mode='bilinear', align_corners=False)
    return p[0, 0].numpy()


def predict(net, size, image_path, threshold=0.5):
    """The mask `melseg predict` writes with raw settings (no TTA, no post-processing): p > threshold."""
    return probability_map(net, size, image_path) > threshold


if __name__ == '__main__':
    if len(sys.argv) >= 4 and sys.argv[1] == 'to-safetensors':
        sd = torch.load(sys.argv[2], map_location='cpu', weights_only=True)
        save_safetensors(sd.get('state_dict', sd), sys.argv[3])
    elif len(sys.argv) >= 5 and sys.argv[1] == 'predict':
        from PIL import Image
        net, m = load_melseg(sys.argv[2])
        mask = predict(net, m['imageSize'], sys.argv[3], float(sys.argv[5]) if len(sys.argv) > 5 else 0.5)
        Image.fromarray(mask.astype(np.uint8) * 255).save(sys.argv[4])
    else:
        sys.exit(__doc__)
