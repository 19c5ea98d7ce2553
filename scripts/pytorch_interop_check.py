"""Test helper for scripts/pytorch_interop.py (test/interop/pytorch.test.ts runs it): PyTorch's side of the
comparisons with melseg, on raw little-endian float32 files. Never a runtime dependency of melseg.

  python3 pytorch_interop_check.py torch-weights MODEL BASE SIZE SEED INPUT N OUTDIR
      a network of torch_models.py with PyTorch's own seeded initialisation, BatchNorm statistics from a few
      training-mode passes and perturbed affine parameters; writes OUTDIR/weights.pth (torch.save),
      OUTDIR/legacy.pth (torch.save's pre-1.6 pickle), OUTDIR/weights.safetensors (save_safetensors) and
      OUTDIR/probability.f32: sigmoid(net(x)) in eval mode for x = INPUT ([N, 3, SIZE, SIZE]), and
      OUTDIR/probability.f64: the same in float64 (the float32 results' common reference)
  python3 pytorch_interop_check.py probabilities CKPT INPUT N OUTDIR
      load_melseg(CKPT) (strict) and sigmoid(net(x)) in eval mode: OUTDIR/probability.f32 and .f64
  python3 pytorch_interop_check.py probability-map CKPT IMAGE OUT
      probability_map(): what `melseg predict` thresholds, at the image's size, written to OUT (float32)
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn

from pytorch_interop import load_melseg, probability_map, save_safetensors
from torch_models import make_model


def read_input(path, n, size):
    return torch.from_numpy(np.fromfile(path, dtype='<f4').reshape(n, 3, size, size).copy())


def torch_weights(model, base, size, seed, inp, n, outdir):
    torch.manual_seed(seed)
    net = make_model(model, base, size)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = None  # cumulative averages: statistics of the passes below, as after training
            with torch.no_grad():
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
    net.train()
    with torch.no_grad():
        for _ in range(3):
            net(torch.randn(4, 3, size, size))
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = 0.1
    net.eval()
    x = read_input(inp, n, size)
    os.makedirs(outdir, exist_ok=True)
    sd = {k: v.clone() for k, v in net.state_dict().items()}
    with torch.no_grad():
        torch.sigmoid(net(x)).numpy().astype('<f4').tofile(os.path.join(outdir, 'probability.f32'))
        torch.sigmoid(net.double()(x.double())).numpy().astype('<f8').tofile(os.path.join(outdir, 'probability.f64'))
    torch.save(sd, os.path.join(outdir, 'weights.pth'))
    torch.save(sd, os.path.join(outdir, 'legacy.pth'), _use_new_zipfile_serialization=False)
    save_safetensors(sd, os.path.join(outdir, 'weights.safetensors'))


def probabilities(ckpt, inp, n, outdir):
    net, m = load_melseg(ckpt)
    x = read_input(inp, n, m['imageSize'])
    os.makedirs(outdir, exist_ok=True)
    with torch.no_grad():
        torch.sigmoid(net(x)).numpy().astype('<f4').tofile(os.path.join(outdir, 'probability.f32'))
        torch.sigmoid(net.double()(x.double())).numpy().astype('<f8').tofile(os.path.join(outdir, 'probability.f64'))


def write_probability_map(ckpt, image, out):
    net, m = load_melseg(ckpt)
    probability_map(net, m['imageSize'], image).astype('<f4').tofile(out)


if __name__ == '__main__':
    torch.set_num_threads(1)
    a = sys.argv
    if a[1] == 'torch-weights':
        torch_weights(int(a[2]), int(a[3]), int(a[4]), int(a[5]), a[6], int(a[7]), a[8])
    elif a[1] == 'probabilities':
        probabilities(a[2], a[3], int(a[4]), a[5])
    elif a[1] == 'probability-map':
        write_probability_map(a[2], a[3], a[4])
    else:
        sys.exit(__doc__)
