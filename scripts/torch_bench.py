"""PyTorch side of melseg's speed comparison (npm run bench:vs-torch): the study's networks from
torch_models.py at the same batch and image size, one training step = forward + loss (tversky,
alpha 0.5 = melseg loss 9 by default) + backward + AdamW(lr 3e-4, weight decay 0.01), float32, CPU,
torch.set_num_threads(T). An outside oracle: never a runtime dependency of melseg.

  python3 scripts/torch_bench.py --model 1 --image-size 128 --width 0.25 --batch-size 8 [--steps 10]
      [--warmup 2] [--threads 2] [--loss 9] [--json] [--serve]

--serve: set up and warm up, print one JSON line, then answer stdin lines `run K` with a JSON line
of K step times (ms) and `quit` with the peak RSS (the same protocol as melseg's bench:train --serve).
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_models import loss_fn, make_model  # noqa: E402


def blas_library():
    """The BLAS this process loaded (Debian: the reference libblas unless OpenBLAS is installed, which
    makes PyTorch's BLAS-backed ops several times slower)."""
    try:
        with open('/proc/self/maps') as f:
            libs = {line.split()[-1] for line in f if 'blas' in line and '/' in line}
        return ', '.join(sorted(os.path.basename(os.path.dirname(l)) + '/' + os.path.basename(l) for l in libs)) or 'none'
    except OSError:
        return 'unknown'


def peak_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def make_batches(batch, size, seed=7):
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(2):
        image = torch.rand(batch, 3, size, size, generator=g) * 2 - 1
        yy, xx = torch.meshgrid(torch.arange(size, dtype=torch.float32), torch.arange(size, dtype=torch.float32), indexing='ij')
        mask = torch.zeros(batch, 1, size, size)
        for b in range(batch):
            cy, cx, r = (size * (0.3 + 0.4 * torch.rand(3, generator=g)) * torch.tensor([1, 1, 0.5])).tolist()
            mask[b, 0] = (((yy - cy) ** 2 + (xx - cx) ** 2) < r * r).float()
        out.append((image, mask))
    return out


class Stepper:
    def __init__(self, model, size, width, batch, loss):
        base = max(1, round(64 * width))
        self.net = make_model(model, base, size)
        self.net.train()
        self.opt = torch.optim.AdamW(self.net.parameters(), lr=3e-4, weight_decay=0.01)
        self.loss = loss
        self.batches = make_batches(batch, size)
        self.k = 0
        self.last_loss = float('nan')

    def step(self):
        t0 = time.perf_counter()
        x, y = self.batches[self.k % 2]
        self.k += 1
        self.opt.zero_grad(set_to_none=True)
        loss = loss_fn(self.loss, self.net(x), y)
        loss.backward()
        self.opt.step()
        self.last_loss = loss.item()
        return (time.perf_counter() - t0) * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', type=int, default=1)
    ap.add_argument('--image-size', type=int, default=128)
    ap.add_argument('--width', type=float, default=0.25)
    ap.add_argument('--batch-size', type=int, default=8)
    ap.add_argument('--steps', type=int, default=10)
    ap.add_argument('--warmup', type=int, default=2)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--loss', type=int, default=9)
    ap.add_argument('--json', action='store_true')
    ap.add_argument('--serve', action='store_true')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    s = Stepper(a.model, a.image_size, a.width, a.batch_size, a.loss)
    for _ in range(a.warmup):
        s.step()
    if a.serve:
        print(json.dumps({'ready': True, 'torch': torch.__version__, 'threads': torch.get_num_threads(), 'blas': blas_library()}), flush=True)
        for line in sys.stdin:
            parts = line.split()
            if not parts:
                continue
            if parts[0] == 'run':
                ms = [s.step() for _ in range(int(parts[1]))]
                print(json.dumps({'ms': ms, 'loss': s.last_loss}), flush=True)
            elif parts[0] == 'quit':
                print(json.dumps({'peakRssBytes': peak_rss_bytes()}), flush=True)
                break
        return
    ms = [s.step() for _ in range(a.steps)]
    med = statistics.median(ms)
    res = {'model': a.model, 'imageSize': a.image_size, 'width': a.width, 'batch': a.batch_size, 'threads': torch.get_num_threads(),
           'msPerStep': med, 'msPerImage': med / a.batch_size, 'stepsMs': ms, 'peakRssBytes': peak_rss_bytes(), 'loss': s.last_loss,
           'torch': torch.__version__, 'blas': blas_library()}
    if a.json:
        print(json.dumps(res))
    else:
        print(f"torch {torch.__version__} ({blas_library()}), {torch.get_num_threads()} threads: model {a.model}, image {a.image_size}, width {a.width}, "
              f"batch {a.batch_size}: median {med:.1f} ms/step, {med / a.batch_size:.1f} ms/image, peak RSS {peak_rss_bytes() / 2**20:.0f} MiB")


if __name__ == '__main__':
    main()
