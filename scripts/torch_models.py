"""The published study's networks and losses in PyTorch, written from melseg's specification so that
their state_dict keys equal melseg's parameter names. An outside oracle for tests (values, gradients)
and benchmarks (speed); never a runtime dependency of melseg.

Usage as a reference:  python3 torch_models.py reference CKPT INPUTS.bin OUT.json
  loads melseg's safetensors checkpoint, runs the training-mode forward, the loss and backward in
  float64, and writes the loss, every gradient and the BN running statistics after the step."""
import json
import struct
import sys

import numpy as np
import torch
import torch.nn as nn


def block(a, b):
    return nn.Sequential(nn.Conv2d(a, b, 3, padding=1), nn.BatchNorm2d(b), nn.ReLU(inplace=True),
                         nn.Conv2d(b, b, 3, padding=1), nn.BatchNorm2d(b), nn.ReLU(inplace=True))


class SegNet(nn.Module):
    def __init__(self, base=64):
        super().__init__()
        c = [base, base * 2, base * 4, base * 8, base * 8]

        def blk(widths):
            s = nn.Sequential(nn.Conv2d(widths[0], widths[1], 3, padding=1), nn.BatchNorm2d(widths[1]), nn.ReLU(inplace=True),
                              nn.Conv2d(widths[1], widths[2], 3, padding=1), nn.BatchNorm2d(widths[2]), nn.ReLU(inplace=True))
            if len(widths) == 4:
                s.add_module('conv', nn.Conv2d(widths[2], widths[3], 3, padding=1))
                s.add_module('batch', nn.BatchNorm2d(widths[3]))
                s.add_module('relu', nn.ReLU(inplace=True))
            return s
        self.conv1 = blk([3, c[0], c[0]])
        self.conv2 = blk([c[0], c[1], c[1]])
        self.conv3 = blk([c[1], c[2], c[2], c[2]])
        self.conv4 = blk([c[2], c[3], c[3], c[3]])
        self.conv5 = blk([c[3], c[4], c[4], c[4]])
        self.deconv5 = blk([c[4], c[4], c[4], c[3]])
        self.deconv4 = blk([c[3], c[3], c[3], c[2]])
        self.deconv3 = blk([c[2], c[2], c[2], c[1]])
        self.deconv2 = blk([c[1], c[1], c[0]])
        self.deconv1 = blk([c[0], c[0], 1])
        self.pool = nn.MaxPool2d(2, 2)
        self.up = nn.Upsample(scale_factor=2, mode='nearest')

    def forward(self, x):
        for m in [self.conv1, self.conv2, self.conv3, self.conv4, self.conv5]:
            x = self.pool(m(x))
        for m in [self.deconv5, self.deconv4, self.deconv3, self.deconv2, self.deconv1]:
            x = self.up(m(x))
        return x  # logits; the study applies a sigmoid


class UNet(nn.Module):
    def __init__(self, mode='pool', base=64, size=256):
        super().__init__()
        c = [base, base * 2, base * 4, base * 8, base * 16]
        self.mode = mode
        self.conv1, self.conv2, self.conv3, self.conv4 = block(3, c[0]), block(c[0], c[1]), block(c[1], c[2]), block(c[2], c[3])
        if mode == 'stride':
            self.pool = nn.ModuleList([nn.Conv2d(c[k], c[k], 3, stride=2, padding=1) for k in range(4)])
        elif mode == 'dilate':
            self.pool = nn.ModuleList([nn.Conv2d(c[k], c[k], 2, dilation=size // 2 ** (k + 1)) for k in range(4)])
        else:
            self.pool = nn.MaxPool2d(2, 2)

        def up(seq, b, h):
            if mode == 'pool':
                seq.add_module('upsampling', nn.Upsample(scale_factor=2, mode='nearest'))
                seq.add_module('conv', nn.Conv2d(b, b // 2, 3, padding=1))
            elif mode == 'stride':
                seq.add_module('strided_conv', nn.ConvTranspose2d(b, b // 2, 2, stride=2))
            else:
                seq.add_module('dalated_conv', nn.ConvTranspose2d(b, b // 2, 2, dilation=h))
            return seq
        self.bottle = up(block(c[3], c[4]), c[4], size // 16)
        self.deconv4 = up(block(c[4], c[3]), c[3], size // 8)
        self.deconv3 = up(block(c[3], c[2]), c[2], size // 4)
        self.deconv2 = up(block(c[2], c[1]), c[1], size // 2)
        self.deconv1 = block(c[1], c[0])
        self.last = nn.Sequential(nn.Conv2d(c[0], 1, 1), nn.Sigmoid())

    def down(self, k, x):
        return self.pool(x) if self.mode == 'pool' else self.pool[k](x)

    def forward(self, x):
        x1 = self.conv1(x)
        x2 = self.conv2(self.down(0, x1))
        x3 = self.conv3(self.down(1, x2))
        x4 = self.conv4(self.down(2, x3))
        b = self.bottle(self.down(3, x4))
        d = self.deconv4(torch.cat([x4, b], 1))
        d = self.deconv3(torch.cat([x3, d], 1))
        d = self.deconv2(torch.cat([x2, d], 1))
        d = self.deconv1(torch.cat([x1, d], 1))
        return self.last[0](d)  # logits; last[1] is the sigmoid


def make_model(model, base=64, size=256):
    return [lambda: SegNet(base), lambda: UNet('pool', base, size), lambda: UNet('stride', base, size),
            lambda: UNet('dilate', base, size)][model]()


def loss_fn(loss, logits, y):
    p = torch.sigmoid(logits)
    if loss == 0:
        return nn.functional.binary_cross_entropy(p, y)
    if loss == 1:
        return (logits - logits * y + torch.log1p(torch.exp(-logits))).mean()
    if loss == 2:
        return 1 - (2 * p * y / (p + y + 8e-10)).mean()
    if loss == 3:
        return -(y * (1 - p) ** 2 * torch.log(p) + (1 - y) * p ** 2 * torch.log(1 - p)).sum()
    a = (loss - 4) / 10
    tp = (p * y).sum()
    fn = ((1 - p) * y).sum()
    fp = (p * (1 - y)).sum()
    return -tp / (tp + a * fn + (1 - a) * fp + 1e-8)


def read_safetensors(path):
    with open(path, 'rb') as f:
        raw = f.read()
    n = struct.unpack('<Q', raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    body = raw[8 + n:]
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        b, e = info['data_offsets']
        dt = {'F32': np.float32, 'I64': np.int64}[info['dtype']]
        out[name] = np.frombuffer(body[b:e], dtype=dt).reshape(info['shape'])
    return out, header.get('__metadata__', {})


def reference(ckpt, inputs, out):
    tensors, meta = read_safetensors(ckpt)
    m = json.loads(meta['melseg'])
    base = max(1, round(64 * m['width']))
    net = make_model(m['model'], base, m['imageSize']).double()
    state = {k: torch.from_numpy(v.copy()) for k, v in tensors.items() if not k.startswith('__optim__')}
    net.load_state_dict(state, strict=True)
    spec = json.loads(open(inputs + '.json').read())
    raw = np.fromfile(inputs, dtype=np.float32)
    n, s = spec['n'], m['imageSize']
    x = torch.from_numpy(raw[:n * 3 * s * s].reshape(n, 3, s, s).astype(np.float64))
    y = torch.from_numpy(raw[n * 3 * s * s:].reshape(n, 1, s, s).astype(np.float64))
    net.train()
    loss = loss_fn(m['loss'], net(x), y)
    loss.backward()
    res = {'loss': loss.item(), 'grads': {}, 'buffers': {}}
    for k, p in net.named_parameters():
        res['grads'][k] = p.grad.flatten().tolist()
    for k, b in net.named_buffers():
        if 'running' in k:
            res['buffers'][k] = b.flatten().tolist()
    with open(out, 'w') as f:
        json.dump(res, f)


if __name__ == '__main__':
    if sys.argv[1] == 'reference':
        reference(*sys.argv[2:5])
