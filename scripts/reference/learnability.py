"""learnability.py: how far can a plain network get on simulated mice, given compute?

A diagnostic for docs/RESULTS.md ("How much can this data teach? A plain network on a GPU"),
not part of fmcore: a conventional causal 3-D CNN (not fmcore's architecture) shared by the
packed mice, with a per-unit readout at each unit's TRUE receptive-field centre (from
/units/truth), trained with Adam on the mice's training trials, scored every so often against
the simulator's noise-free rate: per unit, the correlation of the repeat-averaged prediction
with the repeat-averaged noise-free rate on each domain's test clips (a CC_norm whose ceiling
is 1), and on the validation trials; medians over units (with several mice, over all of them
and, as NAME_first, over the first mouse's).

    # pack mouse 1 (responses, or with --noise-free the noise-free rate, as the target)
    /usr/bin/python3 scripts/reference/learnability.py pack /tmp/r12/data 1 PACK [--noise-free]
    # several mice, an evenly spaced subset of each one's units
    /usr/bin/python3 scripts/reference/learnability.py pack /tmp/r12/data 1-14 PACK --units 32
    # train until BUDGET seconds have passed; one JSON line per evaluation
    CH=96 B=64 LR=2e-3 COS=1 BUDGET=200 python3 scripts/reference/learnability.py train PACK LOG

The pack (m<mouse>.npz and the videos in v/) is small enough to travel to a GPU machine (64 MiB:
one mouse of the small preset, or 14 mice of 32 units: 56 MiB): the videos are re-encoded with
x264 at CRF 16 (the simulator writes them losslessly), the noisy responses are rounded to 8
significant bits (float16 with its 3 lowest bits cleared; a relative error of at most 2^-8,
far below the Poisson noise), and the noise-free rate is kept for the validation trials and,
averaged over repeats, for the test clips only.

Training settings (environment): CH channels per layer, B windows per mouse and step, LR
Adam's rate, COS=1 a cosine decay of the rate to 0 at BUDGET seconds, SEED. Windows are 90
frames, the first 45 excluded from the loss (burn-in); a step's loss is the mean over mice.
"""

import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np

WINDOW, BURN, FRAMES = 90, 45, 300
DOMAINS = ['natural', 'gabor', 'dots', 'rdk', 'noise', 'image']


def pack(root, mouse, out, noise_free, units=0):
    """Writes one mouse's trials to OUT/m<mouse>.npz (units > 0: that many, evenly spaced) and its videos to OUT/v."""
    import h5py
    f = h5py.File(f'{root}/mouse{mouse:02d}.h5', 'r')
    n = f['units/id'].shape[0]
    sel = np.arange(n) if units <= 0 or units >= n else np.linspace(0, n - 1, units).round().astype(int)
    os.makedirs(f'{out}/v', exist_ok=True)
    names = list(f['trials'])
    meta = {'tier': [], 'domain': [], 'stim': [], 'video': []}
    beh, target, keep, rates = [], [], [], {}
    for i, k in enumerate(names):
        g = f['trials'][k]
        tier, video = g.attrs['tier'], os.path.basename(g.attrs['video'])
        meta['tier'].append(tier)
        meta['domain'].append(g.attrs['domain'])
        meta['stim'].append(g.attrs['stimulus'])
        meta['video'].append(video)
        dst = f'{out}/v/{video}'
        if not os.path.exists(dst):
            subprocess.run(['ffmpeg', '-v', 'error', '-y', '-i', f'{root}/{g.attrs["video"]}', '-c:v', 'libx264',
                            '-crf', '16', '-pix_fmt', 'yuv420p', dst], check=True)
        beh.append(np.concatenate([g['pupil'][()][:, None], g['running'][()][:, None], g['eye'][()]], 1))
        if tier == 'test':
            rates.setdefault(g.attrs['stimulus'], []).append(g['rate'][()][:, sel])
            continue
        keep.append(i)
        if noise_free:
            target.append(g['rate'][()][:, sel].astype(np.float16))
        else:
            target.append((g['responses'][()][:, sel].astype(np.float16).view(np.uint16) & np.uint16(0xFFF8)).view(np.float16))
        if tier == 'validation':
            rates['trial:' + k] = [g['rate'][()][:, sel]]
    np.savez_compressed(f'{out}/m{mouse}.npz', **{k: np.array(v) for k, v in meta.items()},
                        beh=np.stack(beh).astype(np.float32), resp=np.stack(target), resp_idx=np.array(keep),
                        rate_keys=np.array(list(rates)),
                        rate=np.stack([np.mean(v, 0) for v in rates.values()]).astype(np.float16),
                        trial_names=np.array(names), px=f['units/truth/rf_center_px'][()][sel],
                        area=f['units/area'][()][sel].astype(str))


def decode(path):
    """Frames of a video as [T, 36, 64] uint8, through ffmpeg or, where there is none, OpenCV."""
    if shutil.which('ffmpeg'):
        raw = subprocess.run(['ffmpeg', '-v', 'error', '-i', path, '-f', 'rawvideo', '-pix_fmt', 'gray', '-'],
                             capture_output=True, check=True).stdout
        return np.frombuffer(raw, np.uint8).reshape(-1, 36, 64)
    import cv2
    cap, frames = cv2.VideoCapture(path), []
    while True:
        ok, im = cap.read()
        if not ok:
            return np.stack(frames)
        frames.append(cv2.cvtColor(im, cv2.COLOR_BGR2GRAY))


def load_mouse(path, vids):
    """One packed mouse: frames, targets scaled to a mean of 1 per unit, behaviour, truth."""
    d = np.load(path)
    m = {k: d[k] for k in ('tier', 'domain', 'stim', 'px')}
    m['X'] = np.stack([vids[v][:FRAMES] for v in d['video']])  # [N, 300, 36, 64] uint8
    m['train'] = tr = np.where(m['tier'] == 'train')[0]
    beh = d['beh'][..., :2]  # pupil, running
    m['beh'] = (beh - beh[tr].reshape(-1, 2).mean(0)) / beh[tr].reshape(-1, 2).std(0)
    U = d['resp'].shape[-1]
    resp = np.zeros((len(m['tier']), FRAMES, U), np.float32)
    resp[d['resp_idx']] = d['resp'].astype(np.float32)
    scale = resp[tr].reshape(-1, U).mean(0)  # every unit's mean is 1 on the training trials
    m['resp'] = resp / scale
    m['keys'], m['rate'] = list(d['rate_keys']), d['rate'].astype(np.float32) / scale
    m['names'] = list(d['trial_names'])
    return m


def train(pk, logpath):
    """Trains one core for every mouse in the pack (m<mouse>.npz), a readout each."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    C, B = int(os.environ.get('CH', 24)), int(os.environ.get('B', 8))
    LR, BUDGET = float(os.environ.get('LR', 3e-3)), float(os.environ.get('BUDGET', 60))
    COS, SEED = os.environ.get('COS', '0') == '1', int(os.environ.get('SEED', 0))
    dev = 'cuda' if torch.cuda.is_available() else 'cpu'
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    log = open(logpath, 'w')

    def say(s):
        print(s, flush=True)
        log.write(s + '\n')
        log.flush()

    files = sorted((n for n in os.listdir(pk) if n.startswith('m') and n.endswith('.npz')), key=lambda n: int(n[1:-4]))
    vids = {v: decode(f'{pk}/v/{v}') for v in sorted(os.listdir(f'{pk}/v'))}
    mice = [load_mouse(f'{pk}/{n}', vids) for n in files]
    XM = float(np.mean([m['X'][m['train']].mean() for m in mice]))
    XS = float(np.sqrt(np.mean([((m['X'][m['train']].astype(np.float64) - XM) ** 2).mean() for m in mice])))
    for m in mice:
        m['Xg'], m['Yg'] = torch.tensor(m['X'], device=dev), torch.tensor(m['resp'], device=dev)
        m['Bg'] = torch.tensor(m['beh'], dtype=torch.float32, device=dev)
    say(json.dumps(dict(device=dev, mice=[n[1:-4] for n in files], units=sum(m['resp'].shape[-1] for m in mice),
                        train_frames=len(mice[0]['train']) * FRAMES, CH=C, B=B, LR=LR, COS=COS, SEED=SEED)))

    class Core(nn.Module):
        def __init__(s):
            super().__init__()
            s.c1 = nn.Conv3d(1, C, (15, 7, 7), stride=(1, 2, 2), padding=(0, 3, 3))
            s.c2 = nn.Conv3d(C, C, (3, 3, 3), padding=(0, 1, 1))
            s.c3 = nn.Conv3d(C, C, (3, 3, 3), padding=(0, 1, 1))

        def forward(s, x):  # x [B, T, 36, 64] uint8 -> [B, C, T, 18, 32]
            x = ((x.float() - XM) / XS).unsqueeze(1)
            x = F.elu(s.c1(F.pad(x, (0, 0, 0, 0, 14, 0))))  # causal in time
            x = F.elu(s.c2(F.pad(x, (0, 0, 0, 0, 2, 0))))
            return F.elu(s.c3(F.pad(x, (0, 0, 0, 0, 2, 0))))

    class Readout(nn.Module):
        def __init__(s, px):
            super().__init__()
            U = len(px)
            mu = np.stack([(px[:, 0] + 0.5) / 64 * 2 - 1, (px[:, 1] + 0.5) / 36 * 2 - 1], 1)
            s.mu = nn.Parameter(torch.tensor(mu, dtype=torch.float32))  # [U, 2] true centres
            s.w = nn.Parameter(torch.randn(U, C) * 0.01)
            s.b = nn.Parameter(torch.zeros(U))
            s.wb = nn.Parameter(torch.zeros(U, 2))
            s.tau = nn.Parameter(torch.full((U,), 2.0))  # log time constant of the calcium filter, frames

        def forward(s, x, beh):  # x [B, C, T, 18, 32], beh [B, T, 2] -> rate [B, T, U]
            n, c, t, h, w = x.shape
            U = s.b.shape[0]
            g = s.mu.clamp(-1, 1).view(1, 1, -1, 2).expand(n * t, 1, -1, 2)
            f = F.grid_sample(x.transpose(1, 2).reshape(n * t, c, h, w), g, align_corners=False)  # [BT, C, 1, U]
            z = (f[:, :, 0, :] * s.w.t().unsqueeze(0)).sum(1).view(n, t, -1) + s.b + beh @ s.wb.t()
            r = torch.exp(z).transpose(1, 2)  # [B, U, T]
            k = torch.exp(-torch.arange(44, -1, -1.0, device=x.device).view(1, -1) / torch.exp(s.tau).view(-1, 1))
            k = k / k.sum(1, keepdim=True)
            return F.conv1d(F.pad(r, (44, 0)), k.unsqueeze(1), groups=U).transpose(1, 2)

    core = Core().to(dev)
    readouts = nn.ModuleList([Readout(m['px']) for m in mice]).to(dev)
    opt = torch.optim.Adam(list(core.parameters()) + list(readouts.parameters()), lr=LR)

    def corr(P, Y):  # [rows, U] each -> [U]
        Pc, Yc = P - P.mean(0), Y - Y.mean(0)
        return (Pc * Yc).sum(0) / np.sqrt((Pc ** 2).sum(0) * (Yc ** 2).sum(0) + 1e-12)

    @torch.no_grad()
    def score(m, ro):  # per-unit scores of one mouse: {'val': [U], domain: [U]}
        tier, dom, stim, U = m['tier'], m['domain'], m['stim'], m['resp'].shape[-1]
        P = np.zeros((len(tier), FRAMES, U), np.float32)
        idx = np.where(tier != 'train')[0]
        for i in range(0, len(idx), 20):
            j = idx[i:i + 20]
            P[j] = ro(core(m['Xg'][j]), m['Bg'][j]).cpu().numpy()
        v = np.where(tier == 'validation')[0]
        truth = np.stack([m['rate'][m['keys'].index('trial:' + m['names'][i])] for i in v])
        res = {'val': corr(P[v, BURN:].reshape(-1, U), truth[:, BURN:].reshape(-1, U))}
        for dm in DOMAINS:
            clips = sorted(set(stim[(tier == 'test') & (dom == dm)]))
            pm = np.stack([P[(tier == 'test') & (stim == c)].mean(0)[BURN:] for c in clips]).reshape(-1, U)
            ym = np.stack([m['rate'][m['keys'].index(c)][BURN:] for c in clips]).reshape(-1, U)
            res[dm] = corr(pm, ym)
        return res

    def evaluate():  # medians over every unit; with several mice also over the first mouse's
        core.eval()
        per = [score(m, ro) for m, ro in zip(mice, readouts)]
        core.train()
        out = {k: round(float(np.median(np.concatenate([p[k] for p in per]))), 3) for k in per[0]}
        if len(mice) > 1:
            out.update({k + '_first': round(float(np.median(v)), 3) for k, v in per[0].items()})
        return out

    t0, step, due, losses = time.time(), 0, 0, []
    frames = len(mice[0]['train']) * FRAMES
    while True:
        el = time.time() - t0
        if step >= due or el > BUDGET:
            passes = step * B * (WINDOW - BURN) / frames  # per mouse: each takes B windows a step
            loss = round(float(np.mean(losses)), 4) if losses else None
            say(json.dumps(dict(step=step, s=round(el), passes=round(passes, 2), loss=loss, **evaluate())))
            losses, due = [], max(due + 50, int(due * 1.4))
            if el > BUDGET:
                return
        if COS:
            for g in opt.param_groups:
                g['lr'] = LR * 0.5 * (1 + np.cos(np.pi * min(el / BUDGET, 1)))
        loss = 0
        for m, ro in zip(mice, readouts):
            i = torch.tensor(rng.choice(m['train'], B), device=dev).view(-1, 1)
            t = torch.tensor(rng.integers(0, FRAMES - WINDOW + 1, B), device=dev).view(-1, 1) + torch.arange(WINDOW, device=dev)
            r = ro(core(m['Xg'][i, t]), m['Bg'][i, t])[:, BURN:]
            loss = loss + (r - m['Yg'][i, t][:, BURN:] * torch.log(r + 1e-8)).mean() / len(mice)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        step += 1


def mouse_list(text):
    """'1-14', '1,3,5-7' -> [1, ..., 14], [1, 3, 5, 6, 7]."""
    out = []
    for part in text.split(','):
        a, _, b = part.partition('-')
        out += list(range(int(a), int(b or a) + 1))
    return out


if __name__ == '__main__':
    if len(sys.argv) >= 5 and sys.argv[1] == 'pack':
        opts = sys.argv[5:]
        units = int(opts[opts.index('--units') + 1]) if '--units' in opts else 0
        for mouse in mouse_list(sys.argv[3]):
            pack(sys.argv[2], mouse, sys.argv[4], '--noise-free' in opts, units)
    elif len(sys.argv) == 4 and sys.argv[1] == 'train':
        train(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
