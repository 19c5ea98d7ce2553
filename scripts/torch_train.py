"""PyTorch trainer with melseg's recipe, so a quality gap can be traced to the graphs and optimizer or to
the data pipeline (melseg's issue 11). A test oracle and a measuring tool, never a runtime dependency.

Mode A, melseg's own batches (a dump written by `melseg train --dump-batches DIR`):
  python3 scripts/torch_train.py --batches DIR [--epochs N] [--out CSV] [--run ID]
Mode B, PyTorch's batches from an ISIC folder and melseg's split file:
  python3 scripts/torch_train.py --data FOLDER --split split.json --pipeline plain|study|melseg \\
      --model 3 --loss 5 --epochs 40 --batch-size 16 --lr 3e-4 --image-size 128 --width 0.25 --seed 42 \\
      [--save-batches DIR] [--evaluate] [--out CSV]

The recipe (melseg's src/train/trainer.ts): AdamW (lr, weight decay 0.01, betas 0.9/0.999, eps 1e-8) on
every parameter; ReduceLROnPlateau(mode='max', PyTorch's other defaults) on the validation IoU, stepped
once per epoch after validation; BatchNorm momentum 0.1; validation in eval mode in batches of the
training batch size; train loss = mean of the batch losses weighted by batch size, valid loss alike;
metric = per-image IoU at probability > 0.5 (empty prediction and empty mask score 1), averaged over
images. float32 on the CPU, 2 threads unless --threads says otherwise.

Writes the results CSV with melseg's columns (train_loss, valid_loss, metric, model, criterion, epoch, lr,
seconds, images_per_s, run), replacing this run's rows after each epoch, so `melseg chart` reads it.
Progress goes to stderr: one line per epoch with the losses, IoU, seconds and ETA.
"""
import argparse
import copy
import csv
import io
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as TF

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import torch_data as D  # noqa: E402
import torch_models  # noqa: E402

MODEL_NAMES = ['SegNet', 'UNet', 'UNet_stride', 'UNet_dilate']
LOSS_NAMES = ['BCELoss', 'bce_loss', 'dice_loss', 'focal_loss'] + ['tversky_loss_alpha_%.2f' % (a / 10) for a in range(11)] + ['bce_dice_loss']
RESULT_COLUMNS = ['train_loss', 'valid_loss', 'metric', 'model', 'criterion', 'epoch', 'lr', 'seconds', 'images_per_s', 'run']
STUDY_COLUMNS = RESULT_COLUMNS[:6]


# ---------------------------------------------------------------------------------------------------------
# Models and losses (melseg's tables)

def resolve(spec, names, what, flag):
    s = str(spec).strip()
    if s.isdigit() and int(s) < len(names):
        return int(s)
    for i, n in enumerate(names):
        if n.lower() == s.lower():
            return i
    table = '\n'.join('  %2d  %s' % (i, n) for i, n in enumerate(names))
    raise D.InputError('%s %s: unknown %s; expected a number or a name from\n%s' % (flag, s, what, table))


def build_model(model_id, size, width):
    """torch_models' network with melseg's state_dict names; base channels = round(64 w), as melseg."""
    if size < 32 or size % 32:
        raise D.InputError('image size %d: expected a multiple of 32 (the networks halve it five times), e.g. 64, 128 or 256' % size)
    base = int(math.floor(64 * width + 0.5))  # JS Math.round, as melseg's baseWidth
    if not width > 0 or base < 1:
        raise D.InputError('width %s: expected a multiplier of at least 1/64, e.g. 1, 0.5 or 0.25' % width)
    return torch_models.make_model(model_id, base, size)


def _log_sigmoid(x):
    """log sigmoid(x) = -softplus(-x), stable for any x (melseg's losses/common.ts)."""
    return -TF.softplus(-x)


def melseg_loss(loss_id):
    """melseg's loss number loss_id (src/losses/) on logits x and a 0/1 mask y, in its stable forms:
      0 BCELoss      -mean(y clamp(log p, -100) + (1-y) clamp(log(1-p), -100))
      1 bce_loss     mean(x - x y + log(1 + e^-x))
      2 dice_loss    1 - mean(2 p y / (p + y + 8e-10))
      3 focal_loss   -sum(y (1-p)^2 log p + (1-y) log(1-p))   (the study's: no focusing on the background term)
      4..14 tversky  -TP / (TP + a FN + (1-a) FP + 1e-8) over the batch, a = (id - 4) / 10 weighting the FN
      15 bce_dice_loss  bce_loss + 1 - mean over images of (2 sum(p y) + 1) / (sum p + sum y + 1)
    with p = sigmoid(x) and log p, log(1-p) taken from the logits. test/scripts/torch_train.test.ts checks
    every entry of melseg's loss table against this one."""
    if loss_id == 0:
        return lambda x, y: -(y * _log_sigmoid(x).clamp(min=-100) + (1 - y) * _log_sigmoid(-x).clamp(min=-100)).mean()
    if loss_id == 1:
        return lambda x, y: (x - x * y + TF.softplus(-x)).mean()
    if loss_id == 2:
        def dice(x, y):
            p = torch.sigmoid(x)
            return 1 - (p * y * 2 / (p + y + 8e-10)).mean()
        return dice
    if loss_id == 3:
        def focal(x, y):
            p = torch.sigmoid(x)
            return -(y * (1 - p) ** 2 * _log_sigmoid(x) + (1 - y) * _log_sigmoid(-x)).sum()
        return focal
    if 4 <= loss_id <= 14:
        a = (loss_id - 4) / 10

        def tversky(x, y):
            p = torch.sigmoid(x)
            tp = (p * y).sum()
            fn = ((1 - p) * y).sum()
            fp = (p * (1 - y)).sum()
            return -tp / (tp + fn * a + fp * (1 - a) + 1e-8)
        return tversky
    if loss_id == 15:
        def bce_dice(x, y):
            p = torch.sigmoid(x)
            dims = tuple(range(1, x.dim()))
            dice = (2 * (p * y).sum(dims) + 1) / (p.sum(dims) + y.sum(dims) + 1)
            return (x - x * y + TF.softplus(-x)).mean() + 1 - dice.mean()
        return bce_dice
    raise D.InputError('loss %d: torch_train.py knows melseg\'s losses 0..15; add the new one to melseg_loss in scripts/torch_train.py' % loss_id)


# ---------------------------------------------------------------------------------------------------------
# Validation

def evaluate(model, loss_fn, images, masks, batch_size):
    """Eval-mode forward in batches: (mean loss weighted by batch size, mean per-image IoU, per-image IoUs)."""
    model.eval()
    loss_sum, ious = 0.0, []
    with torch.no_grad():
        for b in range(0, len(images), batch_size):
            x, y = images[b:b + batch_size], masks[b:b + batch_size]
            logits = model(x)
            loss_sum += loss_fn(logits, y).item() * len(x)
            pred = torch.sigmoid(logits) > 0.5
            truth = y > 0.5
            inter = (pred & truth).flatten(1).sum(1)
            union = (pred | truth).flatten(1).sum(1)
            ious += [1.0 if u == 0 else i / u for i, u in zip(inter.tolist(), union.tolist())]
    return loss_sum / len(images), sum(ious) / len(ious), ious


# ---------------------------------------------------------------------------------------------------------
# Results CSV: melseg's columns; this run's rows replaced under melseg's lock, atomically

def _lock(path, timeout=70.0):
    """proper-lockfile's protocol, as melseg's results.ts uses it: mkdir <file>.lock; a lock untouched for
    10 s belongs to a crashed writer and is taken over."""
    lock = path + '.lock'
    t0 = time.time()
    while True:
        try:
            os.mkdir(lock)
            return lock
        except FileExistsError:
            try:
                if time.time() - os.stat(lock).st_mtime > 10:
                    os.rmdir(lock)
                    continue
            except FileNotFoundError:
                continue
            if time.time() - t0 > timeout:
                raise D.InputError('could not lock %s within %d s; if no melseg or torch_train.py process is writing it, '
                                   'the lock is left over from a crash: delete %s' % (path, timeout, lock))
            time.sleep(0.05)


def _fmt(v):
    if isinstance(v, float):
        return '' if math.isnan(v) else repr(v)
    return str(v)


def upsert_rows(path, run, rows):
    path = os.path.abspath(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    lock = _lock(path)
    try:
        kept = []
        if os.path.exists(path):
            with open(path, newline='') as f:
                table = list(csv.reader(f))
            if table:
                header = [h.strip() for h in table[0]]
                if [c for c in STUDY_COLUMNS if c not in header]:
                    raise D.InputError('--out %s has columns %s; expected a results CSV with the columns %s: pass another --out'
                                       % (path, ','.join(header), ','.join(RESULT_COLUMNS)))
                for line, cells in enumerate(table[1:], 2):
                    if not any(c.strip() for c in cells):
                        continue
                    if len(cells) != len(header):
                        raise D.InputError('%s:%d: expected %d fields, found %d; repair or delete that line' % (path, line, len(header), len(cells)))
                    row = dict(zip(header, cells))
                    if row.get('run', '').strip() != run:
                        kept.append([row.get(c, '') for c in RESULT_COLUMNS])
        out = io.StringIO()
        w = csv.writer(out, lineterminator='\n')
        w.writerow(RESULT_COLUMNS)
        w.writerows(kept)
        w.writerows([[_fmt(r[c]) for c in RESULT_COLUMNS] for r in rows])
        D.write_atomic(path, out.getvalue().encode())
    finally:
        os.rmdir(lock)


# ---------------------------------------------------------------------------------------------------------
# The loop

class TrainingStopped(Exception):
    """A loss that is not finite: the run stops with a message, not a traceback."""


def _duration(s):
    s = int(round(s))
    return '%dh%02dm' % (s // 3600, s % 3600 // 60) if s >= 3600 else '%dm%02ds' % (s // 60, s % 60) if s >= 60 else '%ds' % s


def fit(model, loss_fn, cfg, batches, valid, out, run, steps_out=None, threads=2):
    """Trains cfg['epochs'] epochs. batches(epoch) yields (image, mask) float32 tensors in step order;
    valid = (images, masks). Returns (history, best_state)."""
    torch.set_num_threads(threads)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg['lr'], betas=(0.9, 0.999), eps=1e-8, weight_decay=cfg['weightDecay'])
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode='max')
    history, steps, best, best_state = [], [], None, None
    tty = sys.stderr.isatty()
    t_start = time.time()
    for epoch in range(1, cfg['epochs'] + 1):
        # set lr (the scheduler stepped after the last validation)
        lr = opt.param_groups[0]['lr']
        t0 = time.time()
        loss_sum, seen, step_s = 0.0, 0, 0.0
        model.train()
        # forward/backward/update
        for b, (x, y) in enumerate(batches(epoch)):
            ts = time.time()
            loss = loss_fn(model(x), y)
            value = loss.item()
            if not math.isfinite(value):
                raise TrainingStopped('epoch %d, batch %d: the %s loss is %s; the run stopped (the rows of finished epochs are in %s). '
                                      'Try a lower --lr (now %g) or another loss.' % (epoch, b, cfg['loss'], value, out, lr))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step_s += time.time() - ts
            loss_sum += value * len(x)
            seen += len(x)
            steps.append({'epoch': epoch, 'batch': b, 'loss': value, 'lr': lr})
            if tty:
                sys.stderr.write('\repoch %d/%d: batch %d, %d images, loss %.4f ' % (epoch, cfg['epochs'], b + 1, seen, value))
        # evaluate, then the scheduler
        valid_loss, iou, _ = evaluate(model, loss_fn, valid[0], valid[1], cfg['batchSize'])
        plateau.step(iou)
        seconds = time.time() - t0
        history.append({'train_loss': loss_sum / max(seen, 1), 'valid_loss': valid_loss, 'metric': iou, 'model': cfg['model'],
                        'criterion': cfg['loss'], 'epoch': epoch, 'lr': lr, 'seconds': seconds,
                        'images_per_s': seen / max(step_s, 1e-9), 'run': run})
        if best is None or iou > best:
            best, best_state = iou, copy.deepcopy(model.state_dict())
        # log, write
        eta = (time.time() - t_start) / epoch * (cfg['epochs'] - epoch)
        sys.stderr.write('%sepoch %d/%d: train loss %.4f, valid loss %.4f, valid IoU %.4f, lr %.1e, %.1f s, %.1f img/s, ETA %s\n'
                         % ('\r' if tty else '', epoch, cfg['epochs'], history[-1]['train_loss'], valid_loss, iou, lr, seconds,
                            history[-1]['images_per_s'], _duration(eta)))
        upsert_rows(out, run, history)
        if steps_out:
            D.write_atomic(steps_out, json.dumps(steps).encode())
    return history, best_state


# ---------------------------------------------------------------------------------------------------------
# Mode A: a batch dump

def check_recipe(recipe, where):
    model_id = recipe['modelId']
    loss_id = recipe['lossId']
    if not 0 <= model_id < len(MODEL_NAMES) or MODEL_NAMES[model_id] != recipe['model']:
        raise D.InputError('%s: "model" %s and "modelId" %d disagree; melseg\'s models are %s'
                           % (where, json.dumps(recipe['model']), model_id, ', '.join('%d %s' % x for x in enumerate(MODEL_NAMES))))
    if 0 <= loss_id < len(LOSS_NAMES) and LOSS_NAMES[loss_id] != recipe['loss']:
        raise D.InputError('%s: "loss" %s and "lossId" %d disagree (loss %d is %s)' % (where, json.dumps(recipe['loss']), loss_id, loss_id, LOSS_NAMES[loss_id]))
    if recipe['schedule'] != 'plateau':
        raise D.InputError('%s: "schedule" is %s; torch_train.py reproduces melseg\'s "plateau" (ReduceLROnPlateau on the valid IoU)'
                           % (where, json.dumps(recipe['schedule'])))


def load_initial(model, tensors, where):
    state = {k: torch.from_numpy(v) for k, v in tensors.items() if not k.startswith('__optim__.')}
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    differ = [k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or differ:
        first = ('"%s" has shape %s, the model expects %s' % (differ[0], list(state[differ[0]].shape), list(own[differ[0]].shape)) if differ
                 else '"%s" is missing' % missing[0] if missing else '"%s" is not in the model' % unexpected[0])
        raise D.InputError('%s does not fit the model: %s (%d differ in shape, %d missing, %d unexpected); '
                           'check model, imageSize and width in recipe.json' % (where, first, len(differ), len(missing), len(unexpected)))
    model.load_state_dict(state, strict=True)


def run_batches(a):
    dump = D.Dump(a.batches)
    r = dump.recipe
    check_recipe(r, os.path.join(a.batches, 'recipe.json'))
    available = len(dump.epochs)
    epochs = a.epochs if a.epochs is not None else available
    if epochs > available:
        raise D.InputError('--epochs %d: %s holds batches for epochs 1..%d only; pass --epochs %d or less' % (epochs, a.batches, available, available))
    if epochs != r['epochs']:
        sys.stderr.write('note: training %d epochs; recipe.json says %d\n' % (epochs, r['epochs']))
    loss_fn = melseg_loss(r['lossId'])
    model = build_model(r['modelId'], r['imageSize'], r['width'])
    load_initial(model, dump.initial, os.path.join(a.batches, 'initial.ckpt'))
    cfg = dict(model=r['model'], loss=r['loss'], epochs=epochs, batchSize=r['batchSize'], lr=r['lr'], weightDecay=r['weightDecay'])
    run = a.run or 'torch-%d-batches' % r['seed']
    sys.stderr.write('torch_train: %s x %s, image %d, width %g, %s, %d epochs of %d steps from %s; run %s -> %s\n'
                     % (r['model'], r['loss'], r['imageSize'], r['width'], _params(model), epochs, len(dump.epochs[0]), a.batches, run, a.out))
    valid = torch.from_numpy(dump.valid_image), torch.from_numpy(dump.valid_mask)
    batches = lambda e: (dump.batch(e, b) for b in range(len(dump.epochs[e - 1])))  # noqa: E731
    _, best_state = fit(model, loss_fn, cfg, batches, valid, a.out, run, a.steps_out, a.threads)
    if a.save_best:
        save_best(a.save_best, best_state, r['modelId'], r['lossId'], r['imageSize'], r['width'])


def _params(model):
    return '{:,} parameters'.format(sum(p.numel() for p in model.parameters()))


def save_best(path, state, model_id, loss_id, size, width):
    """The best epoch's weights as a melseg checkpoint (`melseg evaluate --checkpoint FILE` reads it)."""
    arrays = {k: v.numpy() for k, v in state.items()}
    D.write_atomic(path, D.safetensors_bytes(arrays, D.checkpoint_meta(model_id, MODEL_NAMES[model_id], loss_id, LOSS_NAMES[loss_id], size, width)))


# ---------------------------------------------------------------------------------------------------------
# Mode B: an ISIC folder, a split and a pipeline

AUGMENT_STREAM, ORDER_STREAM = 1, 2


def run_folder(a):
    model_id = resolve(a.model, MODEL_NAMES, 'model', '--model')
    loss_id = resolve(a.loss, LOSS_NAMES, 'loss', '--loss')
    for flag, v in (('--epochs', a.epochs), ('--batch-size', a.batch_size)):
        if v < 1:
            raise D.InputError('%s %d: expected a whole number >= 1' % (flag, v))
    if not a.lr > 0:
        raise D.InputError('--lr %s: expected a positive number such as 3e-4' % a.lr)
    loss_fn = melseg_loss(loss_id)
    files = D.isic_files(a.data)
    split = D.read_split(a.split, files)
    pipe = D.PIPELINES[a.pipeline](a.image_size)
    torch.set_num_threads(a.threads)
    t0 = time.time()
    load = lambda ids: [pipe.prepare(D.decode_image(files[i][0]), D.decode_mask(files[i][1])) for i in ids]  # noqa: E731
    train, valid_samples = load(split['train']), load(split['valid'])
    stack = lambda samples: tuple(torch.stack(t) for t in zip(*[pipe.valid(s) for s in samples]))  # noqa: E731
    valid = stack(valid_samples)
    torch.manual_seed(a.seed)
    model = build_model(model_id, a.image_size, a.width)
    cfg = dict(model=MODEL_NAMES[model_id], loss=LOSS_NAMES[loss_id], epochs=a.epochs, batchSize=a.batch_size, lr=a.lr, weightDecay=0.01)
    run = a.run or 'torch-%d-%s' % (a.seed, a.pipeline)
    sys.stderr.write('torch_train: %s x %s, image %d, width %g, %s; %s pipeline; %d train / %d valid images of %s loaded in %.1f s; run %s -> %s\n'
                     % (cfg['model'], cfg['loss'], a.image_size, a.width, _params(model), a.pipeline, len(train), len(valid[0]), a.data,
                        time.time() - t0, run, a.out))
    writer = None
    if a.save_batches:
        recipe = dict(model=cfg['model'], modelId=model_id, loss=cfg['loss'], lossId=loss_id, imageSize=a.image_size, width=a.width,
                      epochs=a.epochs, batchSize=a.batch_size, lr=a.lr, weightDecay=0.01, schedule='plateau', seed=a.seed,
                      pipeline=a.pipeline, source='torch_train.py')
        meta = D.checkpoint_meta(model_id, cfg['model'], loss_id, cfg['loss'], a.image_size, a.width)
        writer = D.DumpWriter(a.save_batches, recipe, D.state_dict_arrays(model), meta, valid[0].numpy(), valid[1].numpy(), split['valid'])

    def batches(epoch):
        """Epoch order: a permutation seeded by (seed, epoch); sample k's augmentation seeded by (seed, epoch, k)."""
        order = torch.randperm(len(train), generator=D.generator(a.seed, ORDER_STREAM, epoch)).tolist()
        for b in range(0, len(order), a.batch_size):
            pairs = [pipe.train(train[k], D.generator(a.seed, AUGMENT_STREAM, epoch, k)) for k in order[b:b + a.batch_size]]
            x, y = torch.stack([p[0] for p in pairs]), torch.stack([p[1] for p in pairs])
            if writer:
                writer.batch(epoch, b // a.batch_size, x.numpy(), y.numpy())
            yield x, y

    history, best_state = fit(model, loss_fn, cfg, batches, valid, a.out, run, a.steps_out, a.threads)
    if a.save_best:
        save_best(a.save_best, best_state, model_id, loss_id, a.image_size, a.width)
    if a.evaluate:
        if not split['test']:
            sys.stderr.write('--evaluate: the split has no "test" ids; nothing to score\n')
            return
        best_epoch = max(history, key=lambda h: h['metric'])['epoch']
        model.load_state_dict(best_state)
        test = stack(load(split['test']))
        loss, iou, _ = evaluate(model, loss_fn, test[0], test[1], a.batch_size)
        sys.stderr.write('test (%d images, weights of epoch %d): IoU %.4f, loss %.4f\n' % (len(test[0]), best_epoch, iou, loss))


# ---------------------------------------------------------------------------------------------------------

def main(argv):
    p = argparse.ArgumentParser(prog='torch_train.py', description=__doc__.split('\n\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split('\n\n', 1)[1])
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument('--batches', metavar='DIR', help='mode A: train on a batch dump, exactly its batches in order')
    src.add_argument('--data', metavar='FOLDER', help='mode B: an ISIC folder (images/<id>.jpg + masks/<id>_segmentation.png)')
    p.add_argument('--split', metavar='FILE', help='mode B: melseg\'s split JSON {"train": [...], "valid": [...], "test": [...]}')
    p.add_argument('--pipeline', choices=sorted(D.PIPELINES), help='mode B: the training augmentation')
    p.add_argument('--model', default='3', help='mode B: model number or name (default 3, UNet_dilate)')
    p.add_argument('--loss', default='5', help='mode B: loss number or name (default 5, tversky_loss_alpha_0.10)')
    p.add_argument('--epochs', type=int, help='epochs (mode A: default every epoch of the dump; mode B: default 20)')
    p.add_argument('--batch-size', type=int, default=25, help='mode B (default 25)')
    p.add_argument('--lr', type=float, default=3e-4, help='mode B (default 3e-4)')
    p.add_argument('--image-size', type=int, default=256, help='mode B (default 256)')
    p.add_argument('--width', type=float, default=1.0, help='mode B: channel multiplier (default 1)')
    p.add_argument('--seed', type=int, default=0, help='mode B: weights, order and augmentation (default 0)')
    p.add_argument('--save-batches', metavar='DIR', help='mode B: write every batch in the dump format')
    p.add_argument('--evaluate', action='store_true', help='mode B: score the best epoch\'s weights on the split\'s test ids')
    p.add_argument('--out', default='results/torch_results.csv', help='results CSV (default results/torch_results.csv)')
    p.add_argument('--run', help='run id in the CSV (default torch-<seed>-batches or torch-<seed>-<pipeline>)')
    p.add_argument('--steps-out', metavar='FILE', help='write every step\'s loss and lr as JSON [{epoch, batch, loss, lr}]')
    p.add_argument('--save-best', metavar='FILE', help='write the best epoch\'s weights as a melseg checkpoint')
    p.add_argument('--threads', type=int, default=2,
                   help='torch threads (default 2); on a busy machine 1 can be several times faster, as two OpenMP threads wait on each other')
    a = p.parse_args(argv)
    try:
        if a.batches:
            for flag in ('split', 'pipeline', 'save_batches'):
                if getattr(a, flag):
                    raise D.InputError('--%s is for mode B (--data); with --batches the dump fixes the data' % flag.replace('_', '-'))
            run_batches(a)
        else:
            if not a.split or not a.pipeline:
                raise D.InputError('--data needs --split FILE and --pipeline %s' % '|'.join(sorted(D.PIPELINES)))
            a.epochs = 20 if a.epochs is None else a.epochs
            run_folder(a)
    except (D.InputError, TrainingStopped) as e:
        sys.exit('torch_train.py: %s' % e)


if __name__ == '__main__':
    main(sys.argv[1:])
