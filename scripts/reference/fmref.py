"""fmref: an independent PyTorch reference of the fmcore network.

Written from the specification /work/shared/docs/MODEL.md (sections 1-5) and the
parameter convention of params.md (names and layouts in scripts/reference/README.md);
no code of cajal/fnn is used. The network runs one frame at a time (MODEL.md 1.1): every
temporal convolution keeps a zero-initialised history, the LSTMs keep h and c, and
weight standardisation is computed once per sequence (reset()).

Parameters live in one flat, ordered `Store` keyed by the fmcore names
(`core.feedforward.blocks.0.convs.1.weight.0`, ...). Modules hold no tensors of their
own, only the names they read, so a fixture is simply the store written out.

Shape letters: N batch, T frames, S streams, C channels, H, W, U units, G groups.

Run `/usr/bin/python3 scripts/reference/fmref.py` for the self-checks (parameter counts
of MODEL.md 5, initial-state identities of MODEL.md 12.2, causality of 12.3).
"""

import math
import os
from collections import OrderedDict

import torch
import torch.nn.functional as F
import yaml

GAMMA_GELU = 1.7015043  # NF-Net constant for GELU (MODEL.md 1.4), used verbatim
WS_EPS = 1e-5  # weight standardisation epsilon (MODEL.md 1.4)
PIXEL_EPS = 1e-5  # retina pixel offset inside the power (MODEL.md 4.1 step 6)
PLANE_MIN = 1e-5  # lower clip of the ray-plane denominator (MODEL.md 4.1 step 4)

HERE = os.path.dirname(os.path.abspath(__file__))


def load_config(path):
    """Reads a YAML config (tiny.yaml / paper.yaml) into a dict."""
    with open(path) as f:
        return yaml.safe_load(f)


# ---------------------------------------------------------------------------
# elementary operations
# ---------------------------------------------------------------------------


def gelu_g(x):
    """Exact (erf) GELU times its NF gamma."""
    return F.gelu(x) * GAMMA_GELU


def standardize(w, gain=None):
    """Scaled weight standardisation over all axes but the first (population variance).

    w: [O, ...]; gain: [O] or None. Returns g_o (w_o - mean) / sqrt(fan_in var + 1e-5).
    """
    o = w.shape[0]
    flat = w.reshape(o, -1)
    fan_in = flat.shape[1]
    mean = flat.mean(dim=1, keepdim=True)
    var = flat.var(dim=1, unbiased=False, keepdim=True)
    out = (flat - mean) / torch.sqrt(fan_in * var + WS_EPS)
    if gain is not None:
        out = out * gain.reshape(o, 1)
    return out.reshape(w.shape)


def cat_groups(tensors, groups, dim=1):
    """Group-interleaved concatenation: for g in 0..G-1, chunk g of each tensor in order."""
    parts = []
    for g in range(groups):
        for t in tensors:
            size = t.shape[dim] // groups
            parts.append(t.narrow(dim, g * size, size))
    return torch.cat(parts, dim=dim)


def conv_frame(x, w, bias=None, groups=1, padding=0, stride=1):
    """Spatial convolution of one frame with a 5-D weight of temporal size 1.

    x: [N, C, H, W]; w: [O, C/groups, 1, kH, kW] -> [N, O, H', W'] (zero padding).
    """
    assert w.shape[2] == 1, "conv_frame needs temporal kernel 1"
    return F.conv2d(x, w[:, :, 0], bias, stride=stride, padding=padding, groups=groups)


def rotation(ax, ay, az):
    """R = Rz(az) Ry(ay) Rx(ax) for batched angles [N] -> [N, 3, 3] (MODEL.md 4.1 step 2)."""
    one = torch.ones_like(ax)
    zero = torch.zeros_like(ax)
    cx, sx = torch.cos(ax), torch.sin(ax)
    cy, sy = torch.cos(ay), torch.sin(ay)
    cz, sz = torch.cos(az), torch.sin(az)

    def mat(rows):
        return torch.stack([torch.stack(r, dim=-1) for r in rows], dim=-2)

    rx = mat([[one, zero, zero], [zero, cx, -sx], [zero, sx, cx]])
    ry = mat([[cy, zero, sy], [zero, one, zero], [-sy, zero, cy]])
    rz = mat([[cz, -sz, zero], [sz, cz, zero], [zero, zero, one]])
    return rz @ ry @ rx


# ---------------------------------------------------------------------------
# parameter store
# ---------------------------------------------------------------------------


class ParamSpec:
    """Shape and the two initialisers (specification init and fixture init) of one parameter."""

    def __init__(self, shape, spec_init, fixture_init):
        self.shape = tuple(shape)
        self.spec_init = spec_init
        self.fixture_init = fixture_init


def _numel(shape):
    n = 1
    for s in shape:
        n *= s
    return n


# Specification initialisers (MODEL.md 1.4 and section 4): fn(shape, gen) -> float64 tensor.
def spec_uniform(fan_in, plain):
    bound = math.sqrt((3.0 if plain else 1.0) / fan_in)
    return lambda shape, gen: (torch.rand(shape, generator=gen, dtype=torch.float64) * 2 - 1) * bound


def spec_const(value):
    def init(shape, gen):
        v = torch.as_tensor(value, dtype=torch.float64)
        return v.expand(shape).clone()

    return init


def spec_eye(value):
    """value * identity per unit, shape [U, 2, 2]."""
    return lambda shape, gen: value * torch.eye(shape[-1], dtype=torch.float64).expand(shape).clone()


# Fixture initialisers: random everywhere (zero inits would make every output exactly 1).
def fx_normal(std, mean=0.0):
    return lambda shape, gen: mean + std * torch.randn(shape, generator=gen, dtype=torch.float64)


def fx_around(base, rel):
    """base * (1 + rel * N(0, 1)): gains and positive scales."""
    base = torch.as_tensor(base, dtype=torch.float64)
    return lambda shape, gen: base.expand(shape) * (1 + rel * torch.randn(shape, generator=gen, dtype=torch.float64))


def fx_uniform(lo, hi):
    return lambda shape, gen: lo + (hi - lo) * torch.rand(shape, generator=gen, dtype=torch.float64)


def fx_sigma(diag, std):
    return lambda shape, gen: diag * torch.eye(2, dtype=torch.float64).expand(shape) + std * torch.randn(
        shape, generator=gen, dtype=torch.float64
    )


class Store:
    """Ordered map from fmcore parameter name to a leaf tensor."""

    def __init__(self):
        self.specs = OrderedDict()
        self.values = OrderedDict()

    def add(self, name, shape, spec_init, fixture_init):
        if name in self.specs:
            raise ValueError(f"parameter {name} registered twice")
        self.specs[name] = ParamSpec(shape, spec_init, fixture_init)

    def initialize(self, mode, seed, dtype=torch.float64):
        """Fills every parameter, in registration order, from one generator.

        mode: "spec" (the initialisation of MODEL.md) or "fixture" (random values).
        Values are drawn in float64 and then cast, so a float32 store holds the rounded
        float64 values of the same seed.
        """
        gen = torch.Generator().manual_seed(seed)
        for name, spec in self.specs.items():
            init = spec.spec_init if mode == "spec" else spec.fixture_init
            v = init(spec.shape, gen).to(torch.float64)
            assert tuple(v.shape) == spec.shape, (name, v.shape, spec.shape)
            self.values[name] = v.to(dtype).detach().requires_grad_(True)
        return self

    def cast(self, dtype):
        """A new store with the same specs and the values cast to dtype."""
        out = Store()
        out.specs = self.specs
        for k, v in self.values.items():
            out.values[k] = v.detach().to(dtype).requires_grad_(True)
        return out

    def __getitem__(self, name):
        return self.values[name]

    def names(self, prefix=""):
        return [n for n in self.specs if n.startswith(prefix)]

    def count(self, prefix="", stream=None):
        """Number of scalars of the parameters whose name starts with prefix
        (and, if stream is given, that are shared or belong to that stream)."""
        total = 0
        for n, spec in self.specs.items():
            if not n.startswith(prefix):
                continue
            if stream is not None and stream_of(n) not in (None, stream):
                continue
            total += _numel(spec.shape)
        return total


def stream_of(name):
    """Stream index of a per-stream parameter name (suffix .s), else None."""
    last = name.rsplit(".", 1)[-1]
    return int(last) if last.isdigit() and _is_stream_param(name) else None


def _is_stream_param(name):
    # per-stream names end in ".<s>" after a field name; layer indices are never last.
    return name.split(".")[0] in ("modulation", "core") or name.startswith(("readout.features", "readout.bias"))


class Module:
    """Base: named parameters in a shared store and a per-sequence cache of standardised weights."""

    def __init__(self, store):
        self.store = store
        self._cache = {}

    def p(self, name):
        return self.store[name]

    def ws(self, weight, gain=None):
        """Standardised weight `weight` (with gain `gain`), computed once per sequence."""
        if weight not in self._cache:
            self._cache[weight] = standardize(self.p(weight), None if gain is None else self.p(gain))
        return self._cache[weight]

    def reset(self):
        self._cache = {}


# ---------------------------------------------------------------------------
# perspective (MODEL.md 4.1)
# ---------------------------------------------------------------------------


def angular_grid(height, width, degrees, dtype=torch.float64):
    """Retina rays of the Angular (equidistant azimuthal) eye: [H, W, 3]."""
    x = torch.linspace(-1, 1, width, dtype=torch.float64) * ((width - 1) / width)
    y = torch.linspace(-1, 1, height, dtype=torch.float64) * (height / width) * ((width - 1) / width)
    yy, xx = torch.meshgrid(y, x, indexing="ij")  # [H, W], x along width
    r = torch.sqrt(xx**2 + yy**2) * math.radians(degrees)
    r = r.clamp(0, math.pi / 2)
    theta = torch.atan2(yy, xx)
    ray = torch.stack([torch.sin(r) * torch.cos(theta), torch.sin(r) * torch.sin(theta), torch.cos(r)], dim=-1)
    return ray.to(dtype)


def rectilinear_grid(height, width, kx, ky, dtype=torch.float64):
    """Retina rays of fmcore's rectilinear (pinhole) eye: [H, W, 3]. The ray of each retinal
    pixel meets the monitor at its initial pose (distance 0.5) at the point the sampling factors
    kx, ky map to the pixel's own grid coordinate, so the retina sees the stimulus resampled
    uniformly (fmcore's perspective.ProjectionRectilinear; not in the reference)."""
    x = (2 * torch.arange(width, dtype=torch.float64) + 1) / width - 1
    y = (2 * torch.arange(height, dtype=torch.float64) + 1) / height - 1
    yy, xx = torch.meshgrid(y / ky, x / kx, indexing="ij")
    ray = torch.stack([xx, yy, torch.full_like(xx, 0.5)], dim=-1)
    return (ray / ray.norm(dim=-1, keepdim=True)).to(dtype)


class Perspective(Module):
    """MlpMonitorRetina: stimulus frame + eye position -> retinal image (shared by streams)."""

    def __init__(self, store, cfg, stim_hw, n_persp=2):
        super().__init__(store)
        pc = cfg["perspective"]
        self.hidden = list(pc["eye_hidden"])
        self.ho, self.wo = pc["retina_height"], pc["retina_width"]
        self.degrees = pc["retina_degrees"]
        self.jitter_std = pc.get("jitter_std", 0.05)  # fmcore's option; 0: no jitter
        self.projection = pc.get("retina_projection", "angular")
        if self.projection not in ("angular", "rectilinear"):
            raise ValueError(f"perspective.retina_projection {self.projection!r}: want angular or rectilinear")
        self.power = pc["monitor_power"]
        self.periphery = pc.get("periphery", "dark")
        if self.periphery not in ("dark", "extend"):
            raise ValueError(f"perspective.periphery {self.periphery!r}: want dark or extend")
        self.hi, self.wi = stim_hw
        sizes = [n_persp] + self.hidden + [3]
        self.layers = len(sizes) - 1
        for i in range(self.layers):
            o, n = sizes[i + 1], sizes[i]
            pre = f"perspective.eye.{i}"
            if i == 0:  # plain, zero init (MODEL.md 4.1 step 2)
                store.add(pre + ".weight", (o, n, 1, 1, 1), spec_const(0.0), fx_normal(0.3))
            else:
                store.add(pre + ".weight", (o, n, 1, 1, 1), spec_uniform(n, plain=False), fx_normal(0.3))
                # the last layer's gain is kept small in fixtures so the eye turns by ~0.1 rad,
                # not by radians (which would move most rays off the monitor)
                last = i == self.layers - 1
                store.add(pre + ".gain", (o,), spec_const(1.0), fx_around(0.15 if last else 1.0, 0.2))
            store.add(pre + ".bias", (o,), spec_const(0.0), fx_normal(0.05 if i == self.layers - 1 else 0.1))
        store.add("perspective.monitor.center", (3,), spec_const([0.0, 0.0, 0.5]), _fx_center)
        store.add("perspective.monitor.angles", (3,), spec_const(0.0), fx_normal(0.1))
        store.add("perspective.monitor.center_std", (3,), spec_const(self.jitter_std), fx_uniform(0.02, 0.08))
        store.add("perspective.monitor.angle_std", (3,), spec_const(self.jitter_std), fx_uniform(0.02, 0.08))
        store.add("perspective.retina_pixel.logit", (1,), spec_const(0.0), fx_normal(0.3))
        store.add("perspective.retina_pixel.scale", (1,), spec_const(1.0), fx_around(1.0, 0.1))
        store.add("perspective.retina_pixel.offset", (1,), spec_const(0.0), fx_normal(0.1))

    def eye_angles(self, eye):
        """eye [N, 2] -> angles (a_x, a_y, a_z) [N, 3]."""
        x = eye
        for i in range(self.layers):
            pre = f"perspective.eye.{i}"
            if i == 0:
                w = self.p(pre + ".weight")
            else:
                w = self.ws(pre + ".weight", pre + ".gain")
            x = F.linear(x, w[:, :, 0, 0, 0], self.p(pre + ".bias"))
            if i < self.layers - 1:
                x = gelu_g(x)
        return x

    def forward(self, stim, eye, center_noise=None, angle_noise=None):
        """stim [N, 1, Hi, Wi] pixel values on the 0..255 scale (float), eye [N, 2],
        optional jitter noise [N, 3] each (training) -> retina [N, 1, Ho, Wo]."""
        n = stim.shape[0]
        dt = stim.dtype
        hi, wi, ho, wo = self.hi, self.wi, self.ho, self.wo
        kx = (wi / (wi - 1)) * ((wo - 1) / wo)  # the sampling factors (MODEL.md 4.1 step 5)
        ky = (wi / hi) * (wi / (wi - 1)) * ((ho - 1) / ho)
        if self.projection == "rectilinear":
            grid = rectilinear_grid(ho, wo, kx, ky, dt)  # [Ho, Wo, 3]
        else:
            grid = angular_grid(ho, wo, self.degrees, dt)
        a = self.eye_angles(eye)
        rot = rotation(a[:, 0], a[:, 1], a[:, 2])  # [N, 3, 3]
        rays = torch.einsum("nij,hwj->nhwi", rot, grid)  # [N, Ho, Wo, 3]

        center = self.p("perspective.monitor.center").unsqueeze(0).expand(n, 3)
        angles = self.p("perspective.monitor.angles").unsqueeze(0).expand(n, 3)
        if self.jitter_std == 0:
            center_noise = angle_noise = None
        if center_noise is not None:
            center = center + center_noise * self.p("perspective.monitor.center_std")
        if angle_noise is not None:
            angles = angles + angle_noise * self.p("perspective.monitor.angle_std")
        mon = rotation(angles[:, 0], angles[:, 1], angles[:, 2])  # columns are X, Y, Z
        ax_x, ax_y, ax_z = mon[:, :, 0], mon[:, :, 1], mon[:, :, 2]  # [N, 3]

        num = (ax_z * center).sum(-1)  # [N]
        den = torch.einsum("nhwi,ni->nhw", rays, ax_z).clamp(min=PLANE_MIN)
        t = num[:, None, None] / den
        d = t.unsqueeze(-1) * rays - center[:, None, None, :]
        u = torch.einsum("nhwi,ni->nhw", d, ax_x)
        v = torch.einsum("nhwi,ni->nhw", d, ax_y)
        xs, ys = u * kx, v * ky

        lum = (stim / 255.0) ** self.power
        pad = "zeros" if self.periphery == "dark" else "border"
        img = F.grid_sample(lum, torch.stack([xs, ys], dim=-1), mode="bilinear", padding_mode=pad, align_corners=False)

        power = torch.sigmoid(self.p("perspective.retina_pixel.logit"))  # max_power 1
        return self.p("perspective.retina_pixel.scale") * (img + PIXEL_EPS) ** power + self.p(
            "perspective.retina_pixel.offset"
        )


def _fx_center(shape, gen):
    return torch.tensor([0.0, 0.0, 0.5], dtype=torch.float64) + 0.05 * torch.randn(shape, generator=gen, dtype=torch.float64)


# ---------------------------------------------------------------------------
# modulation (MODEL.md 4.2)
# ---------------------------------------------------------------------------

GATE_BIAS = {"i": -1.0, "f": 1.0, "g": 0.0, "o": 0.0}  # init_input -1, init_forget +1


class Modulation(Module):
    """MlpLstm of one stream: behaviour [N, 2] -> modulation [N, hidden], stateful."""

    def __init__(self, store, cfg, s, n_mod=2):
        super().__init__(store)
        mc = cfg["modulation"]
        self.feat, self.hid, self.s = mc["features"], mc["hidden"], s
        store.add(f"modulation.mlp.weight.{s}", (self.feat, n_mod, 1, 1, 1), spec_const(0.0), fx_normal(1.0))
        store.add(f"modulation.mlp.bias.{s}", (self.feat,), spec_const(0.0), fx_normal(0.1))
        fan = self.feat + self.hid
        for gname in "ifgo":
            store.add(f"modulation.lstm.{gname}.weight.{s}", (self.hid, fan, 1, 1, 1), spec_uniform(fan, False), fx_normal(0.3))
            store.add(f"modulation.lstm.{gname}.gain.{s}", (self.hid,), spec_const(1.0), fx_around(1.0, 0.2))
            store.add(f"modulation.lstm.{gname}.bias.{s}", (self.hid,), spec_const(GATE_BIAS[gname]), fx_normal(0.1, GATE_BIAS[gname]))
        self.h = self.c = None

    def reset(self):
        super().reset()
        self.h = self.c = None

    def step(self, beh):
        s = self.s
        x = gelu_g(F.linear(beh, self.p(f"modulation.mlp.weight.{s}")[:, :, 0, 0, 0], self.p(f"modulation.mlp.bias.{s}")))
        if self.h is None:
            self.h = x.new_zeros(x.shape[0], self.hid)
            self.c = x.new_zeros(x.shape[0], self.hid)
        xh = torch.cat([x, self.h], dim=1)
        g = {}
        for gname in "ifgo":
            w = self.ws(f"modulation.lstm.{gname}.weight.{s}", f"modulation.lstm.{gname}.gain.{s}")
            g[gname] = F.linear(xh, w[:, :, 0, 0, 0], self.p(f"modulation.lstm.{gname}.bias.{s}"))
        self.c = torch.sigmoid(g["f"]) * self.c + torch.sigmoid(g["i"]) * torch.tanh(g["g"])
        self.h = torch.sigmoid(g["o"]) * torch.tanh(self.c)
        return self.h


# ---------------------------------------------------------------------------
# core feedforward (MODEL.md 4.3)
# ---------------------------------------------------------------------------


class Feedforward(Module):
    """InputDense of one stream: retina [N, 1, H, W] -> [N, out, H/8, W/8] per frame, stateful."""

    def __init__(self, store, cfg, s, in_channels=1):
        super().__init__(store)
        fc = cfg["core"]["feedforward"]
        self.s = s
        self.k0, self.stride0 = fc["input_kernel"], fc["input_stride"]
        if (self.k0 - self.stride0) % 2:
            raise ValueError("core.feedforward: input_kernel - input_stride must be even")
        self.ch, self.groups, self.nlayers = fc["channels"], fc["groups"], fc["layers"]
        self.temporal, self.spatial, self.pools = fc["temporal"], fc["spatial"], fc["pools"]
        self.out = fc["out_channels"]
        pre = "core.feedforward"
        prev = in_channels
        for b, c in enumerate(self.ch):
            g, L, kt, ks = self.groups[b], self.nlayers[b], self.temporal[b], self.spatial[b]
            if c % g:
                raise ValueError(f"core.feedforward.channels[{b}] = {c} not divisible by groups {g}")
            if b == 0:
                fan = prev * self.k0 * self.k0
                store.add(f"{pre}.inputs.0.weight.{s}", (c, prev, 1, self.k0, self.k0), spec_uniform(fan, True), fx_normal(0.3))
                store.add(f"{pre}.inputs.0.bias.{s}", (c,), spec_const(0.0), fx_normal(0.1))
            else:
                store.add(f"{pre}.inputs.{b}.weight.{s}", (c, prev, 1, 1, 1), spec_uniform(prev, False), fx_normal(0.3))
                store.add(f"{pre}.inputs.{b}.gain.{s}", (c,), spec_const(1.0), fx_around(1.0, 0.2))
                store.add(f"{pre}.inputs.{b}.bias.{s}", (c,), spec_const(0.0), fx_normal(0.1))
            for l in range(L):
                fan = (c // g) * kt * ks * ks
                gain0 = 1.0 if l == 0 else 2**-0.5
                store.add(f"{pre}.blocks.{b}.convs.{l}.weight.{s}", (c, c // g, kt, ks, ks), spec_uniform(fan, False), fx_normal(0.3))
                store.add(f"{pre}.blocks.{b}.convs.{l}.gain.{s}", (c,), spec_const(gain0), fx_around(gain0, 0.2))
                store.add(f"{pre}.blocks.{b}.convs.{l}.bias.{s}", (c,), spec_const(0.0), fx_normal(0.1))
            for l in range(1, L):
                fan = l * c // g
                store.add(f"{pre}.blocks.{b}.skips.{l}.weight.{s}", (c, fan, 1, 1, 1), spec_uniform(fan, False), fx_normal(0.3))
                store.add(f"{pre}.blocks.{b}.skips.{l}.gain.{s}", (c,), spec_const(2**-0.5), fx_around(2**-0.5, 0.2))
            prev = (L + 1) * c
        store.add(f"{pre}.out.weight.{s}", (self.out, prev, 1, 1, 1), spec_uniform(prev, False), fx_normal(0.3))
        # fixture gains of the output projections are raised so core signals are O(1)
        store.add(f"{pre}.out.gain.{s}", (self.out,), spec_const(1.0), fx_around(3.0, 0.2))
        store.add(f"{pre}.out.bias.{s}", (self.out,), spec_const(0.0), fx_normal(0.1))
        self.hist = {}

    def reset(self):
        super().reset()
        self.hist = {}

    def _temporal(self, b, l, y):
        """Causal temporal conv of block b layer l: y [N, C, H, W] -> [N, C, H, W]."""
        pre = f"core.feedforward.blocks.{b}.convs.{l}"
        kt, ks, g = self.temporal[b], self.spatial[b], self.groups[b]
        key = (b, l)
        if key not in self.hist:
            self.hist[key] = [torch.zeros_like(y) for _ in range(kt - 1)]
        frames = self.hist[key] + [y]  # oldest first: tap k is frame t-(K-1)+k
        self.hist[key] = frames[1:]
        x5 = torch.stack(frames, dim=2)  # [N, C, K, H, W]
        w = self.ws(f"{pre}.weight.{self.s}", f"{pre}.gain.{self.s}")
        out = F.conv3d(x5, w, self.p(f"{pre}.bias.{self.s}"), padding=(0, ks // 2, ks // 2), groups=g)
        return out[:, :, 0]

    def step(self, retina):
        s, pre = self.s, "core.feedforward"
        pad = (self.k0 - self.stride0) // 2
        x = F.pad(retina, (pad, pad, pad, pad), mode="replicate")
        x = conv_frame(x, self.p(f"{pre}.inputs.0.weight.{s}"), self.p(f"{pre}.inputs.0.bias.{s}"), stride=self.stride0)
        for b in range(len(self.ch)):
            g, L = self.groups[b], self.nlayers[b]
            if b > 0:
                w = self.ws(f"{pre}.inputs.{b}.weight.{s}", f"{pre}.inputs.{b}.gain.{s}")
                x = conv_frame(x, w, self.p(f"{pre}.inputs.{b}.bias.{s}"))
            xs, ys = [x], []
            for l in range(L):
                ys.append(gelu_g(xs[l]))
                nxt = self._temporal(b, l, ys[l])
                if l >= 1:
                    w = self.ws(f"{pre}.blocks.{b}.skips.{l}.weight.{s}", f"{pre}.blocks.{b}.skips.{l}.gain.{s}")
                    nxt = nxt + conv_frame(cat_groups(ys[:l], g), w, groups=g)
                xs.append(nxt)
            x = cat_groups(xs, g)
            if self.pools[b] > 1:
                x = F.avg_pool2d(x, self.pools[b])
        w = self.ws(f"{pre}.out.weight.{s}", f"{pre}.out.gain.{s}")
        return conv_frame(x, w, self.p(f"{pre}.out.bias.{s}"))


# ---------------------------------------------------------------------------
# core recurrent (MODEL.md 4.4 CvtLstm, 4.5 ConvLstm)
# ---------------------------------------------------------------------------


def standardize_intergroup(w, gain):
    """InterGroup weight [G, G-1, Gi, Gh], standardised per (g, out channel) over axes 1 and 3."""
    G, Gm, Gi, Gh = w.shape
    flat = w.permute(0, 2, 1, 3).reshape(G * Gi, Gm * Gh)  # row g*Gi+o
    std = standardize(flat, gain)
    return std.reshape(G, Gi, Gm, Gh).permute(0, 2, 1, 3)


def intergroup_matrix(w, groups):
    """[G, G-1, Gi, Gh] -> dense [G*Gi, G*Gh] with zero diagonal blocks; output group g reads
    the other groups in increasing order."""
    G, _, Gi, Gh = w.shape
    rows = []
    for g in range(groups):
        blocks, j2 = [], 0
        for j in range(groups):
            if j == g:
                blocks.append(w.new_zeros(Gi, Gh))
            else:
                blocks.append(w[g, j2])
                j2 += 1
        rows.append(torch.cat(blocks, dim=1))
    return torch.cat(rows, dim=0)


def cosine_attention(q, k, v, scales, groups):
    """q, k, v [N, common, H, W]; scales [G, Gc] -> [N, common, H, W] (softmax over keys)."""
    n, c, h, w = q.shape
    gc = c // groups
    q = q.reshape(n, groups, gc, h * w)
    k = k.reshape(n, groups, gc, h * w)
    v = v.reshape(n, groups, gc, h * w)
    qn = q / q.norm(dim=2, keepdim=True) * scales.reshape(1, groups, gc, 1)
    kn = k / k.norm(dim=2, keepdim=True)
    logits = torch.einsum("ngcq,ngcd->ngqd", qn, kn)
    attn = torch.softmax(logits, dim=-1)
    a = torch.einsum("ngcd,ngqd->ngcq", v, attn)
    return a.reshape(n, c, h, w)


class Recurrent(Module):
    """CvtLstm or ConvLstm of one stream: (f [N, out_ff, H, W], m [N, M]) -> [N, out, H, W]."""

    def __init__(self, store, cfg, s):
        super().__init__(store)
        rc = cfg["core"]["recurrent"]
        self.kind = rc["type"]
        if self.kind not in ("cvt_lstm", "conv_lstm"):
            raise ValueError(f"core.recurrent.type {self.kind!r}: want cvt_lstm or conv_lstm")
        self.s = s
        self.cin, self.hid, self.out = rc["in"], rc["hidden"], rc["out_channels"]
        self.G, self.k = rc["groups"], rc["spatial"]
        self.common = rc.get("common", 0)
        ff_out = cfg["core"]["feedforward"]["out_channels"]
        mod = cfg["modulation"]["hidden"]
        G = self.G
        for name, val in (("in", self.cin), ("hidden", self.hid)) + ((("common", self.common),) if self.kind == "cvt_lstm" else ()):
            if val % G:
                raise ValueError(f"core.recurrent.{name} = {val} not divisible by groups {G}")
        pre = "core.recurrent"
        pg = 3**-0.5 if G > 1 else 2**-0.5
        gi, gh = self.cin // G, self.hid // G
        if G > 1:
            fan = (G - 1) * gh
            store.add(f"{pre}.proj_h.weight.{s}", (G, G - 1, gi, gh), spec_uniform(fan, False), fx_normal(0.3))
            store.add(f"{pre}.proj_h.gain.{s}", (self.cin,), spec_const(pg), fx_around(pg, 0.2))
        store.add(f"{pre}.proj_f.weight.{s}", (self.cin, ff_out, 1, 1, 1), spec_uniform(ff_out, False), fx_normal(0.3))
        store.add(f"{pre}.proj_f.gain.{s}", (self.cin,), spec_const(pg), fx_around(pg, 0.2))
        store.add(f"{pre}.proj_f.bias.{s}", (self.cin,), spec_const(0.0), fx_normal(0.1))
        store.add(f"{pre}.proj_m.weight.{s}", (self.cin, mod, 1, 1, 1), spec_uniform(mod, False), fx_normal(0.3))
        store.add(f"{pre}.proj_m.gain.{s}", (self.cin,), spec_const(pg), fx_around(pg, 0.2))
        if self.kind == "cvt_lstm":
            gc = self.common // G
            fan = (self.cin + self.hid) // G * self.k * self.k
            store.add(f"{pre}.z.weight.{s}", (self.common, (self.cin + self.hid) // G, 1, self.k, self.k), spec_uniform(fan, False), fx_normal(0.3))
            for n in "qkv":
                store.add(f"{pre}.{n}.weight.{s}", (self.common, gc, 1, 1, 1), spec_uniform(gc, False), fx_normal(0.3))
            store.add(f"{pre}.scales.{s}", (G, gc), spec_const(1.0), fx_around(1.0, 0.2))
            gate_shape, gate_fan = (self.hid, 2 * gc, 1, 1, 1), 2 * gc
        else:
            gate_fan = (self.cin + self.hid) // G * self.k * self.k
            gate_shape = (self.hid, (self.cin + self.hid) // G, 1, self.k, self.k)
        for gname in "ifgo":
            store.add(f"{pre}.gates.{gname}.weight.{s}", gate_shape, spec_uniform(gate_fan, False), fx_normal(0.3))
            store.add(f"{pre}.gates.{gname}.gain.{s}", (self.hid,), spec_const(1.0), fx_around(2.0, 0.2))
            store.add(f"{pre}.gates.{gname}.bias.{s}", (self.hid,), spec_const(GATE_BIAS[gname]), fx_normal(0.1, GATE_BIAS[gname]))
        store.add(f"{pre}.out.weight.{s}", (self.out, self.hid, 1, 1, 1), spec_uniform(self.hid, False), fx_normal(0.3))
        # fixture gains of the output projections are raised so core signals are O(1)
        store.add(f"{pre}.out.gain.{s}", (self.out,), spec_const(1.0), fx_around(3.0, 0.2))
        store.add(f"{pre}.out.bias.{s}", (self.out,), spec_const(0.0), fx_normal(0.1))
        self.h = self.c = None

    def reset(self):
        super().reset()
        self.h = self.c = None

    def step(self, f, m):
        s, G, pre = self.s, self.G, "core.recurrent"
        n, _, hh, ww = f.shape
        if self.h is None:
            self.h = f.new_zeros(n, self.hid, hh, ww)
            self.c = f.new_zeros(n, self.hid, hh, ww)
        h = self.h
        x = conv_frame(f, self.ws(f"{pre}.proj_f.weight.{s}", f"{pre}.proj_f.gain.{s}"), self.p(f"{pre}.proj_f.bias.{s}"))
        wm = self.ws(f"{pre}.proj_m.weight.{s}", f"{pre}.proj_m.gain.{s}")[:, :, 0, 0, 0]
        x = x + F.linear(m, wm)[:, :, None, None]
        if G > 1:
            key = f"{pre}.proj_h.dense.{s}"
            if key not in self._cache:
                wh = standardize_intergroup(self.p(f"{pre}.proj_h.weight.{s}"), self.p(f"{pre}.proj_h.gain.{s}"))
                self._cache[key] = intergroup_matrix(wh, G)
            x = x + F.conv2d(h, self._cache[key][:, :, None, None])
        x = torch.tanh(x)
        xh = cat_groups([x, h], G)
        if self.kind == "cvt_lstm":
            z = conv_frame(xh, self.ws(f"{pre}.z.weight.{s}"), groups=G, padding=self.k // 2)
            q, k, v = (conv_frame(z, self.ws(f"{pre}.{n_}.weight.{s}"), groups=G) for n_ in "qkv")
            a = cosine_attention(q, k, v, self.p(f"{pre}.scales.{s}"), G)
            gin, pad = cat_groups([z, a], G), 0
        else:
            gin, pad = xh, self.k // 2
        gates = {}
        for gname in "ifgo":
            w = self.ws(f"{pre}.gates.{gname}.weight.{s}", f"{pre}.gates.{gname}.gain.{s}")
            gates[gname] = conv_frame(gin, w, self.p(f"{pre}.gates.{gname}.bias.{s}"), groups=G, padding=pad)
        self.c = torch.sigmoid(gates["f"]) * self.c + torch.sigmoid(gates["i"]) * torch.tanh(gates["g"])
        self.h = torch.sigmoid(gates["o"]) * torch.tanh(self.c)
        w = self.ws(f"{pre}.out.weight.{s}", f"{pre}.out.gain.{s}")
        return conv_frame(self.h, w, self.p(f"{pre}.out.bias.{s}"))


# ---------------------------------------------------------------------------
# readout (MODEL.md 4.6) and unit (4.7)
# ---------------------------------------------------------------------------


class Readout(Module):
    """PositionFeature: core [N, C, H, W] of stream s -> log-rates [N, U]."""

    def __init__(self, store, cfg, units, streams):
        super().__init__(store)
        self.units = units
        c = cfg["core"]["recurrent"]["out_channels"]
        std = cfg["readout"]["init_std"]
        store.add("readout.mu", (units, 2), spec_const(0.0), fx_uniform(-0.5, 0.5))
        store.add("readout.sigma", (units, 2, 2), spec_eye(std), fx_sigma(0.4, 0.1))
        for s in range(streams):
            store.add(f"readout.features.{s}", (units, c), spec_const(0.0), fx_normal(1.0))
            store.add(f"readout.bias.{s}", (units,), spec_const(0.0), fx_normal(0.1))

    def positions(self, n, eps=None):
        """Bounded grid positions [N, U, 2] (x, y); eps [N, U, 2] in training, None in evaluation."""
        mu = self.p("readout.mu").unsqueeze(0).expand(n, -1, -1)
        if eps is not None:
            mu = mu + torch.einsum("uij,nuj->nui", self.p("readout.sigma"), eps)
        return torch.tanh(mu)

    def forward(self, core, s, pos):
        """core [N, C, H, W], pos [N, U, 2] -> log-rate [N, U] of stream s."""
        smp = F.grid_sample(core, pos.unsqueeze(2), mode="bilinear", padding_mode="border", align_corners=False)
        smp = smp[..., 0]  # [N, C, U]
        return torch.einsum("ncu,uc->nu", smp, self.p(f"readout.features.{s}")) + self.p(f"readout.bias.{s}")


def poisson_loss(log_rates, targets, burnin):
    """Mean of exp(r) - y r over frames >= burnin, batch and units, NaN targets masked out.

    log_rates, targets [T, N, U]. The mean pools all finite targets of the kept frames.
    """
    r, y = log_rates[burnin:], targets[burnin:]
    mask = ~torch.isnan(y)
    y0 = torch.where(mask, y, torch.zeros_like(y))
    loss = torch.exp(r) - y0 * r
    loss = torch.where(mask, loss, torch.zeros_like(loss))
    return loss.sum() / mask.sum()


# ---------------------------------------------------------------------------
# network (MODEL.md 1.1-1.3, 2)
# ---------------------------------------------------------------------------


class Network:
    """The whole network of one scan: perspective, modulation, core, readout, exp."""

    def __init__(self, cfg, store=None):
        self.cfg = cfg
        self.store = store if store is not None else Store()
        d = cfg["dims"]
        S = cfg["streams"]
        self.streams = S
        st = self.store
        self.perspective = Perspective(st, cfg, (cfg["stimulus_height"], cfg["stimulus_width"]), d.get("perspectives", 2))
        self.modulation = [Modulation(st, cfg, s, d.get("modulations", 2)) for s in range(S)]
        self.feedforward = [Feedforward(st, cfg, s) for s in range(S)]
        self.recurrent = [Recurrent(st, cfg, s) for s in range(S)]
        self.readout = Readout(st, cfg, d["units"], S)
        self.pos = None
        self.center_noise = self.angle_noise = self.eps = None

    def modules(self):
        return [self.perspective, self.readout] + self.modulation + self.feedforward + self.recurrent

    def reset(self, center_noise=None, angle_noise=None, eps=None):
        """Starts a sequence. Training mode: pass the per-sequence noise (monitor jitter
        [N, 3] twice, readout eps [N, U, 2]); evaluation: pass none."""
        for m in self.modules():
            m.reset()
        self.center_noise, self.angle_noise, self.eps = center_noise, angle_noise, eps
        self.pos = None

    def step(self, stim, persp, mod, stream=None, trace=None):
        """One frame. stim uint8 [N, Hi, Wi]; persp [N, 2]; mod [N, 2]; stream s (training
        path) or None (all streams, log-rates averaged). Returns log-rate [N, U].
        trace: optional dict of lists receiving the intermediate tensors."""
        dt = persp.dtype
        x = stim.to(dt).unsqueeze(1)  # [N, 1, Hi, Wi] on the 0..255 scale; /255 inside perspective
        retina = self.perspective.forward(x, persp, self.center_noise, self.angle_noise)
        if self.pos is None:
            self.pos = self.readout.positions(x.shape[0], self.eps)
        streams = [stream] if stream is not None else list(range(self.streams))
        rs = []
        for s in streams:
            m = self.modulation[s].step(mod)
            f = self.feedforward[s].step(retina)
            c = self.recurrent[s].step(f, m)
            rs.append(self.readout.forward(c, s, self.pos))
            if trace is not None:
                for k, v in (("modulation", m), ("feedforward", f), ("core", c), ("log_rates_stream", rs[-1])):
                    trace.setdefault(k, []).append(v)
        if trace is not None:
            trace.setdefault("retina", []).append(retina)
        return torch.stack(rs, 0).mean(0)

    def run(self, stim, persp, mod, stream=None, trace=None):
        """A sequence from reset (call reset first): stim [T, N, Hi, Wi] uint8, persp, mod
        [T, N, 2] -> log-rates [T, N, U]."""
        return torch.stack([self.step(stim[t], persp[t], mod[t], stream, trace) for t in range(stim.shape[0])], 0)


# ---------------------------------------------------------------------------
# self-checks
# ---------------------------------------------------------------------------

PAPER_COUNTS = {
    "core": 4_528_640,
    "feedforward_per_stream": 477_056,
    "recurrent_per_stream": 655_104,
    "perspective": 693,
    "modulation_per_stream": 2_224,
    "readout_per_unit": 522,
    "conv_lstm_per_stream": 720_128,  # MODEL.md 4.5 (derived arithmetic)
}


def count_params(cfg):
    """Parameter counts of a configuration, grouped as in MODEL.md 5."""
    net = Network(cfg)
    st = net.store
    S, U = cfg["streams"], cfg["dims"]["units"]
    return {
        "core": st.count("core."),
        "feedforward_per_stream": st.count("core.feedforward.", 0),
        "recurrent_per_stream": st.count("core.recurrent.", 0),
        "perspective": st.count("perspective."),
        "modulation_per_stream": st.count("modulation.", 0),
        "modulation_mlp": st.count("modulation.mlp."),
        "modulation_lstm": st.count("modulation.lstm."),
        "readout_per_unit": st.count("readout.") // U,
        "streams": S,
        "total": st.count(""),
    }


def check_counts(verbose=True):
    """Asserts the paper-size counts of MODEL.md 5 and returns (paper, conv_lstm, tiny) counts."""
    paper = load_config(os.path.join(HERE, "paper.yaml"))
    got = count_params(paper)
    for k in ("core", "feedforward_per_stream", "recurrent_per_stream", "perspective", "modulation_per_stream", "readout_per_unit"):
        if got[k] != PAPER_COUNTS[k]:
            raise AssertionError(f"paper config: {k} = {got[k]}, MODEL.md 5 says {PAPER_COUNTS[k]}")
    assert got["modulation_mlp"] == 192 and got["modulation_lstm"] == 8704, got
    conv = dict(paper)
    conv["core"] = dict(paper["core"])
    conv["core"]["recurrent"] = dict(paper["core"]["recurrent"], type="conv_lstm")
    gc = count_params(conv)
    if gc["recurrent_per_stream"] != PAPER_COUNTS["conv_lstm_per_stream"]:
        raise AssertionError(f"paper conv_lstm recurrent per stream {gc['recurrent_per_stream']}")
    tiny = count_params(load_config(os.path.join(HERE, "tiny.yaml")))
    if verbose:
        print("parameter counts, paper config (MODEL.md 5), all asserted:")
        for k, v in got.items():
            print(f"  {k:24s} {v:>12,}")
        print(f"  {'conv_lstm_per_stream':24s} {gc['recurrent_per_stream']:>12,}")
        print("parameter counts, tiny config:")
        for k, v in tiny.items():
            print(f"  {k:24s} {v:>12,}")
    return got, gc, tiny


def _tiny_inputs(cfg, T, N, gen, dtype):
    stim = torch.randint(0, 256, (T, N, cfg["stimulus_height"], cfg["stimulus_width"]), generator=gen, dtype=torch.uint8)
    persp = torch.randn(T, N, 2, generator=gen, dtype=torch.float64).to(dtype)
    mod = torch.randn(T, N, 2, generator=gen, dtype=torch.float64).to(dtype)
    return stim, persp, mod


def self_check():
    """The structural identities of MODEL.md 12.1-12.3 on the tiny configuration."""
    torch.set_num_threads(2)
    check_counts()
    cfg = load_config(os.path.join(HERE, "tiny.yaml"))
    gen = torch.Generator().manual_seed(1)
    T, N = 6, 2
    stim, persp, mod = _tiny_inputs(cfg, T, N, gen, torch.float64)
    U = cfg["dims"]["units"]

    # 12.2.5-7: at the specification init every rate is exactly 1 and the loss exactly 1.
    net = Network(cfg)
    net.store.initialize("spec", 0)
    eps = torch.randn(N, U, 2, generator=gen, dtype=torch.float64)
    cn, an = torch.randn(N, 3, generator=gen, dtype=torch.float64), torch.randn(N, 3, generator=gen, dtype=torch.float64)
    net.reset(cn, an, eps)
    r = net.run(stim, persp, mod, stream=1)
    assert torch.equal(torch.exp(r), torch.ones_like(r)), "spec init: rates are not exactly 1"
    y = torch.rand(T, N, U, generator=gen, dtype=torch.float64) * 3
    assert poisson_loss(r, y, 2).item() == 1.0
    ang = net.perspective.eye_angles(persp[0])
    assert torch.equal(ang, torch.zeros_like(ang)), "spec init: eye rotation is not the identity"
    print("spec init: rates exactly 1, Poisson loss exactly 1, eye rotation identity: ok")

    # 12.1.3: standardised rows have mean 0 and squared norm g^2 fan var / (fan var + eps).
    w = torch.randn(7, 3, 2, 3, 3, dtype=torch.float64)
    g = torch.rand(7, dtype=torch.float64) + 0.5
    ws = standardize(w, g).reshape(7, -1)
    flat = w.reshape(7, -1)
    fan, var = flat.shape[1], flat.var(1, unbiased=False)
    assert torch.allclose(ws.mean(1), torch.zeros(7, dtype=torch.float64), atol=1e-15)
    assert torch.allclose((ws**2).sum(1), g**2 * fan * var / (fan * var + WS_EPS), rtol=1e-12)
    print("weight standardisation identities: ok")

    # fixture init: evaluation ensemble = mean of single-stream log-rates (12.1.4).
    net = Network(cfg)
    net.store.initialize("fixture", 0)
    with torch.no_grad():
        net.reset()
        r_all = net.run(stim, persp, mod, stream=None)
        singles = []
        for s in range(cfg["streams"]):
            net.reset()
            singles.append(net.run(stim, persp, mod, stream=s))
        assert torch.allclose(r_all, torch.stack(singles).mean(0), rtol=0, atol=1e-14)
    print("all-streams log-rate = mean of single-stream log-rates: ok")

    # 12.3.8-10: causality, 13-frame feedforward receptive field, streaming = unrolled.
    T2 = 16
    with torch.no_grad():
        retina = torch.rand(T2, N, 1, 16, 24, generator=gen, dtype=torch.float64)
        ff = net.feedforward[0]
        ff.reset()
        base = torch.stack([ff.step(retina[t]) for t in range(T2)])
        pert = retina.clone()
        pert[1] += 0.5
        ff.reset()
        moved = torch.stack([ff.step(pert[t]) for t in range(T2)])
        changed = [(moved[t] - base[t]).abs().max().item() > 0 for t in range(T2)]
        assert changed == [False] + [True] * 13 + [False] * 2, changed
        stim2, persp2, mod2 = _tiny_inputs(cfg, 8, N, gen, torch.float64)
        net.reset()
        a = net.run(stim2, persp2, mod2, stream=0)
        stim3 = stim2.clone()
        stim3[5] = 255 - stim3[5]
        net.reset()
        b = net.run(stim3, persp2, mod2, stream=0)
        diff = [(a[t] - b[t]).abs().max().item() for t in range(8)]
        assert all(d == 0 for d in diff[:5]) and all(d > 0 for d in diff[5:]), diff
        net.reset()
        a2 = net.run(stim2, persp2, mod2, stream=0)
        assert torch.equal(a, a2), "two runs from reset differ"
    print("causality, 13-frame feedforward receptive field, reset reproducibility: ok")


if __name__ == "__main__":
    self_check()
