"""The published study's networks and losses in PyTorch: the networks written from melseg's specification
so that their state_dict keys equal melseg's parameter names, the losses copied from the study's code. An
outside oracle for tests (values, gradients) and benchmarks (speed); never a runtime dependency of melseg.

Usage as a reference:
  python3 torch_models.py reference CKPT INPUTS.bin OUT.json
    loads melseg's safetensors checkpoint, runs the training-mode forward, the loss and backward in
    float64, and writes the loss, every gradient, the BN running statistics after the step and the
    probabilities (sigmoid of the logits).
  python3 torch_models.py losses INPUTS.bin OUT.json
    every loss listed in INPUTS.bin.json and its gradient with respect to the logits, in float64."""
import json
import math
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


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


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channels of each pixel of an NCHW tensor (ConvNeXt's channels_first form)."""
    def __init__(self, c, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))
        self.eps = eps

    def forward(self, x):
        d = x - x.mean(1, keepdim=True)
        x = d / torch.sqrt(d.pow(2).mean(1, keepdim=True) + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


def bilinear(x, size):
    return F.interpolate(x, size=size, mode='bilinear', align_corners=True)


class GHPA(nn.Module):
    """EGE-UNet's grouped multi-axis Hadamard product attention, from the paper's description; its
    submodule names are those of the paper's code so that the state_dict keys match."""
    def __init__(self, dim_in, dim_out, n=8):
        super().__init__()
        c = dim_in // 4
        self.params_xy = nn.Parameter(torch.ones(1, c, n, n))
        self.conv_xy = nn.Sequential(nn.Conv2d(c, c, 3, padding=1, groups=c), nn.GELU(), nn.Conv2d(c, c, 1))
        self.params_zx = nn.Parameter(torch.ones(1, 1, c, n))
        self.conv_zx = nn.Sequential(nn.Conv1d(c, c, 3, padding=1, groups=c), nn.GELU(), nn.Conv1d(c, c, 1))
        self.params_zy = nn.Parameter(torch.ones(1, 1, c, n))
        self.conv_zy = nn.Sequential(nn.Conv1d(c, c, 3, padding=1, groups=c), nn.GELU(), nn.Conv1d(c, c, 1))
        self.dw = nn.Sequential(nn.Conv2d(c, c, 1), nn.GELU(), nn.Conv2d(c, c, 3, padding=1, groups=c))
        self.norm1 = ChannelLayerNorm(dim_in)
        self.norm2 = ChannelLayerNorm(dim_in)
        self.ldw = nn.Sequential(nn.Conv2d(dim_in, dim_in, 3, padding=1, groups=dim_in), nn.GELU(), nn.Conv2d(dim_in, dim_out, 1))

    def forward(self, x):
        x1, x2, x3, x4 = torch.chunk(self.norm1(x), 4, dim=1)
        c, h, w = x1.shape[1:]
        y1 = x1 * self.conv_xy(bilinear(self.params_xy, (h, w)))
        # per (channel, row) and per (channel, column) weights: Conv1d over rows / columns of a [1, c, L] map
        zx = self.conv_zx(bilinear(self.params_zx, (c, h))[0])  # [1, c, h]
        y2 = x2 * zx[:, :, :, None]
        zy = self.conv_zy(bilinear(self.params_zy, (c, w))[0])  # [1, c, w]
        y3 = x3 * zy[:, :, None, :]
        y4 = self.dw(x4)
        return self.ldw(self.norm2(torch.cat([y1, y2, y3, y4], 1)))


class GAB(nn.Module):
    """EGE-UNet's group aggregation bridge (paper's names)."""
    def __init__(self, dim_xh, dim_xl, dilations=(1, 2, 5, 7)):
        super().__init__()
        self.pre_project = nn.Conv2d(dim_xh, dim_xl, 1)
        gs = dim_xl // 2 + 1
        for i, d in enumerate(dilations):
            setattr(self, f'g{i}', nn.Sequential(ChannelLayerNorm(gs), nn.Conv2d(gs, gs, 3, padding=d, dilation=d, groups=gs)))
        self.tail_conv = nn.Sequential(ChannelLayerNorm(4 * gs), nn.Conv2d(4 * gs, dim_xl, 1))

    def forward(self, xh, xl, mask):
        xh = torch.chunk(bilinear(self.pre_project(xh), xl.shape[2:]), 4, dim=1)
        xl = torch.chunk(xl, 4, dim=1)
        groups = [getattr(self, f'g{i}')(torch.cat([xh[i], xl[i], mask], 1)) for i in range(4)]
        return self.tail_conv(torch.cat(groups, 1))


class EGEUNet(nn.Module):
    """EGE-UNet (Ruan et al. 2023) as melseg builds it: channels c_list x width (rounded), the gt_conv masks feed
    the bridges, the loss takes the final logits only (no deep-supervision terms)."""
    def __init__(self, base=64):
        super().__init__()
        # c_list x width rounded to a multiple of 4, at least 4 (width 1: the paper's)
        c = [max(4, 4 * math.floor(v * base / 256 + 0.5)) for v in [8, 16, 24, 32, 48, 64]]
        self.encoder1 = nn.Sequential(nn.Conv2d(3, c[0], 3, padding=1))
        self.encoder2 = nn.Sequential(nn.Conv2d(c[0], c[1], 3, padding=1))
        self.encoder3 = nn.Sequential(nn.Conv2d(c[1], c[2], 3, padding=1))
        self.encoder4 = nn.Sequential(GHPA(c[2], c[3]))
        self.encoder5 = nn.Sequential(GHPA(c[3], c[4]))
        self.encoder6 = nn.Sequential(GHPA(c[4], c[5]))
        for k in range(1, 6):
            setattr(self, f'GAB{k}', GAB(c[k], c[k - 1]))
            setattr(self, f'gt_conv{k}', nn.Sequential(nn.Conv2d(c[5 - k], 1, 1)))
        self.decoder1 = nn.Sequential(GHPA(c[5], c[4]))
        self.decoder2 = nn.Sequential(GHPA(c[4], c[3]))
        self.decoder3 = nn.Sequential(GHPA(c[3], c[2]))
        self.decoder4 = nn.Sequential(nn.Conv2d(c[2], c[1], 3, padding=1))
        self.decoder5 = nn.Sequential(nn.Conv2d(c[1], c[0], 3, padding=1))
        for k in range(1, 6):
            setattr(self, f'ebn{k}', nn.GroupNorm(4, c[k - 1]))
            setattr(self, f'dbn{k}', nn.GroupNorm(4, c[5 - k]))
        self.final = nn.Conv2d(c[0], 1, 1)

    def forward(self, x):
        ts = []
        for k in range(1, 6):
            x = F.gelu(F.max_pool2d(getattr(self, f'ebn{k}')(getattr(self, f'encoder{k}')(x)), 2, 2))
            ts.append(x)
        x = F.gelu(self.encoder6(x))
        deeper = x
        for k in range(1, 6):
            y = getattr(self, f'dbn{k}')(getattr(self, f'decoder{k}')(x))
            y = F.gelu(y if k == 1 else bilinear(y, (2 * y.shape[2], 2 * y.shape[3])))
            mask = getattr(self, f'gt_conv{k}')(y)
            deeper = getattr(self, f'GAB{6 - k}')(deeper, ts[5 - k], mask)
            x = y + deeper
        out = self.final(x)
        return bilinear(out, (2 * out.shape[2], 2 * out.shape[3]))  # logits


def make_model(model, base=64, size=256):
    return [lambda: SegNet(base), lambda: UNet('pool', base, size), lambda: UNet('stride', base, size),
            lambda: UNet('dilate', base, size), lambda: EGEUNet(base)][model]()


# The study's losses (its lib/losses.py), verbatim: they take sigmoid probabilities. Kept apart from
# melseg's TypeScript on purpose, so that the reference test compares melseg with the study, not with itself.
def bce_loss(out, labels):
    return torch.mean(out - out * labels + torch.log(1 + torch.exp(-out)))


def focal_loss(y_pred, y_true, gamma=2, eps=8e-10):
    return -(((1 - y_pred)**gamma)*y_true*torch.log(y_pred) + (1-y_true)*torch.log(1-y_pred)).sum()


def dice_loss(y_pred, y_true):
    ins = 2 * y_pred * y_true
    union = y_pred + y_true + 8e-10
    return 1 - (ins / union).mean()


def get_tversky(alpha):
    def tversky_loss(y_pred, y_true, alpha=alpha):
        A = (y_pred*y_true).sum()
        B = (y_true*(1-y_pred)).sum()
        C = ((1-y_true)*y_pred).sum()
        return -A / (A + alpha*B + (1-alpha)*C + 1e-8)
    return tversky_loss


# melseg's own loss 15, from its definition (README): bce_loss on the logits + per-image soft Dice.
def bce_dice_loss(logits, y):
    p = torch.sigmoid(logits)
    dims = tuple(range(1, p.dim()))
    dice = (2 * (p * y).sum(dims) + 1) / (p.sum(dims) + y.sum(dims) + 1)
    return bce_loss(logits, y) + 1 - dice.mean()


def loss_fn(loss, logits, y):
    """Loss `loss` (melseg's numbering = the study's, plus 15) of the network's logits. The study's losses get
    sigmoid(logits), as its networks end in a Sigmoid; bce_loss gets the logits themselves (melseg's
    documented departure: the study fed it probabilities, which defeats its stable form)."""
    p = torch.sigmoid(logits)
    if loss == 0:
        return nn.BCELoss()(p, y)
    if loss == 1:
        return bce_loss(logits, y)
    if loss == 2:
        return dice_loss(p, y)
    if loss == 3:
        return focal_loss(p, y)
    if 4 <= loss <= 14:
        return get_tversky((loss - 4) / 10)(p, y)
    if loss == 15:
        return bce_dice_loss(logits, y)
    raise ValueError(f'no loss {loss}')


def losses(inputs, out):
    """Every loss and its gradient with respect to the logits, in float64, on one batch of logits and masks
    (INPUTS: float32 logits then masks, both [n, 1, s, s]; INPUTS.json: {n, s, losses})."""
    spec = json.loads(open(inputs + '.json').read())
    n, s = spec['n'], spec['s']
    raw = np.fromfile(inputs, dtype=np.float32).astype(np.float64)
    y = torch.from_numpy(raw[n * s * s:].reshape(n, 1, s, s))
    res = {}
    for k in spec['losses']:
        x = torch.from_numpy(raw[:n * s * s].reshape(n, 1, s, s).copy()).requires_grad_(True)
        value = loss_fn(k, x, y)
        value.backward()
        res[str(k)] = {'loss': value.item(), 'grad': x.grad.flatten().tolist()}
    with open(out, 'w') as f:
        json.dump(res, f)


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
    logits = net(x)
    loss = loss_fn(m['loss'], logits, y)
    loss.backward()
    res = {'loss': loss.item(), 'grads': {}, 'buffers': {}, 'probability': torch.sigmoid(logits).flatten().tolist()}
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
    elif sys.argv[1] == 'losses':
        losses(*sys.argv[2:4])
