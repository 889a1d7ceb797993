"""FOMM training step on the CPU: ours (Paddle dygraph) beside the original's step in PyTorch.

The tiny training architecture of the FOMM-training work (64x64 frames, 10 keypoints with
jacobians, hourglasses 16 -> 128 channels and 4 blocks, keypoints and motion at half size,
generator 16 -> 128 with 2 down blocks and 2 bottleneck blocks, occlusion map), the vox-256
training parameters (perceptual loss on a 4-scale pyramid with VGG19 features, weights 10;
equivariance of keypoint values and jacobians under a random affine + TPS warp, weights 10;
``generator_gan: 0``, so, as in both originals, the discriminator is not run), batch 4, Adam
on the keypoint detector and the generator. VGG19 has random weights on both sides (the real
ones cannot be downloaded; the cost is the same).

The PyTorch side is written here after the original First Order Motion Model's training step
(keypoint detector on source, driving and the warped driving frame; generator; image pyramid;
VGG19 features of prediction and driving at every scale; equivariance losses with the warp's
jacobian by autograd; one backward; two Adam steps). PyTorch is an optional comparison (rows
skipped when ``torch`` is not importable), never a dependency of the kit.

Each row runs in its own subprocess; rows run round-robin, reversed every other round, and
report their median round: wall ms and CPU ms (user + system) per iteration.

    python bench/bench_fomm_train.py --iters 5 --rounds 2 --threads 1
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List

REPO = Path(__file__).resolve().parents[1]
SIZE, BATCH, NUM_KP = 64, 4, 10
KP = {"temperature": 0.1, "block_expansion": 16, "max_features": 128, "scale_factor": 0.5,
      "num_blocks": 4}
GEN = {"block_expansion": 16, "max_features": 128, "num_down_blocks": 2,
       "num_bottleneck_blocks": 2, "estimate_occlusion_map": True}
MOTION = {"block_expansion": 16, "max_features": 128, "num_blocks": 4, "scale_factor": 0.5}
SCALES = [1, 0.5, 0.25, 0.125]
TRANSFORM = {"sigma_affine": 0.05, "sigma_tps": 0.005, "points_tps": 5}
PERCEPTUAL = [10, 10, 10, 10, 10]
EQUIVARIANCE = 10.0
LR = 2e-4


# --- ours ----------------------------------------------------------------------------------
def paddle_step(threads: int) -> Callable[[], None]:
    """One ``FirstOrderModel.train_iter`` on a fixed random batch (tiny architecture)."""
    import paddle

    from ppgan_app.registries import MODELS
    from ppgan_app.utils.config import load_config
    from ppgan_app.utils.registry import build_from_config

    paddle.set_device("cpu")
    paddle.base.core.set_num_threads(threads)
    paddle.seed(0)
    cfg = load_config(REPO / "configs" / "firstorder_vox_256.yaml")
    model_cfg = cfg["model"]
    model_cfg["common_params"]["num_kp"] = NUM_KP
    model_cfg["generator"].update({"vgg_weights": None, "kp_detector_cfg": dict(KP),
                                   "generator_cfg": dict(GEN, dense_motion_params=dict(MOTION))})
    model_cfg["train_params"]["scales"] = SCALES
    model = build_from_config(model_cfg, MODELS)
    model.setup_optimizers(None, {"name": "Adam", "learning_rate": LR})
    batch = {k: paddle.uniform([BATCH, 3, SIZE, SIZE], min=0.0, max=1.0)
             for k in ("source", "driving")}

    def step() -> None:
        model.setup_input(batch)
        model.train_iter(model.optimizers)

    return step


# --- the original's step, in PyTorch --------------------------------------------------------
def torch_step(threads: int) -> Callable[[], None]:
    """The same architecture and losses in PyTorch eager, one training iteration."""
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    nets = _torch_nets()
    kp_detector, generator, vgg, pyramid = nets
    opt_kp = torch.optim.Adam(kp_detector.parameters(), LR, betas=(0.5, 0.999))
    opt_gen = torch.optim.Adam(generator.parameters(), LR, betas=(0.5, 0.999))
    source, driving = torch.rand(BATCH, 3, SIZE, SIZE), torch.rand(BATCH, 3, SIZE, SIZE)
    tm = _torch_transform_module()

    def step() -> None:
        kp_source, kp_driving = kp_detector(source), kp_detector(driving)
        prediction = generator(source, kp_source, kp_driving)
        real, fake = pyramid(driving), pyramid(prediction)
        loss = 0.0
        for r, f in zip(real, fake):
            for weight, xf, yf in zip(PERCEPTUAL, vgg(f), vgg(r)):
                loss = loss + weight * (xf - yf.detach()).abs().mean()
        transform = tm.Transform(BATCH)
        transformed_kp = kp_detector(transform.transform_frame(driving))
        loss = loss + EQUIVARIANCE * (kp_driving["value"] - transform.warp_coordinates(
            transformed_kp["value"])).abs().mean()
        jac = torch.matmul(transform.jacobian(transformed_kp["value"]), transformed_kp["jacobian"])
        value = torch.matmul(torch.inverse(kp_driving["jacobian"]), jac)
        loss = loss + EQUIVARIANCE * (torch.eye(2).view(1, 1, 2, 2) - value).abs().mean()
        opt_kp.zero_grad()
        opt_gen.zero_grad()
        loss.backward()
        opt_kp.step()
        opt_gen.step()

    return step


def _torch_transform_module():
    """Namespace holding the PyTorch TPS ``Transform`` (defined lazily: torch is optional)."""
    import types

    import torch
    import torch.nn.functional as F

    class Transform:
        def __init__(self, bs: int) -> None:
            noise = torch.normal(0.0, TRANSFORM["sigma_affine"] * torch.ones(bs, 2, 3))
            self.theta = noise + torch.eye(2, 3).view(1, 2, 3)
            p = TRANSFORM["points_tps"]
            self.control_points = _torch_grid(p, p).view(1, -1, 2)
            self.control_params = torch.normal(0.0, TRANSFORM["sigma_tps"] * torch.ones(bs, 1, p * p))
            self.bs = bs

        def warp_coordinates(self, coordinates):
            theta = self.theta.unsqueeze(1)
            warped = torch.matmul(theta[..., :2], coordinates.unsqueeze(-1)) + theta[..., 2:]
            warped = warped.squeeze(-1)
            distances = (coordinates.unsqueeze(2) - self.control_points.unsqueeze(1)).abs().sum(-1)
            result = distances ** 2 * torch.log(distances + 1e-6) * self.control_params
            return warped + result.sum(2).unsqueeze(-1)

        def transform_frame(self, frame):
            grid = _torch_grid(SIZE, SIZE).view(1, SIZE * SIZE, 2)
            grid = self.warp_coordinates(grid).view(self.bs, SIZE, SIZE, 2)
            return F.grid_sample(frame, grid, padding_mode="reflection", align_corners=True)

        def jacobian(self, coordinates):
            warped = self.warp_coordinates(coordinates)
            grad_x = torch.autograd.grad(warped[..., 0].sum(), coordinates, create_graph=True)[0]
            grad_y = torch.autograd.grad(warped[..., 1].sum(), coordinates, create_graph=True)[0]
            return torch.cat([grad_x.unsqueeze(-2), grad_y.unsqueeze(-2)], dim=-2)

    return types.SimpleNamespace(Transform=Transform)


def _torch_grid(h: int, w: int):
    """``[h, w, 2]`` (x, y) pixel-centre coordinates in [-1, 1]."""
    import torch

    x = 2 * torch.arange(w, dtype=torch.float32) / (w - 1) - 1
    y = 2 * torch.arange(h, dtype=torch.float32) / (h - 1) - 1
    return torch.stack([x.view(1, w).expand(h, w), y.view(h, 1).expand(h, w)], dim=2)


def _torch_nets():
    """(kp detector, generator, VGG19 features, image pyramid) as PyTorch modules."""
    import torch
    from torch import nn
    import torch.nn.functional as F

    def width(expansion, cap, level):
        return min(cap, expansion * 2 ** level)

    class Down(nn.Module):
        def __init__(self, cin, cout):
            super().__init__()
            self.conv, self.norm = nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout)

        def forward(self, x):
            return F.avg_pool2d(F.relu(self.norm(self.conv(x))), 2)

    class Up(nn.Module):
        def __init__(self, cin, cout):
            super().__init__()
            self.conv, self.norm = nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout)

        def forward(self, x):
            return F.relu(self.norm(self.conv(F.interpolate(x, scale_factor=2))))

    class Hourglass(nn.Module):
        def __init__(self, expansion, cin, blocks, cap):
            super().__init__()
            self.downs = nn.ModuleList(
                Down(cin if i == 0 else width(expansion, cap, i), width(expansion, cap, i + 1))
                for i in range(blocks))
            self.ups = nn.ModuleList(
                Up((1 if i == blocks - 1 else 2) * width(expansion, cap, i + 1),
                   width(expansion, cap, i))
                for i in reversed(range(blocks)))
            self.out_filters = expansion + cin

        def forward(self, x):
            skips = [x]
            for down in self.downs:
                skips.append(down(skips[-1]))
            out = skips.pop()
            for up in self.ups:
                out = torch.cat([up(out), skips.pop()], dim=1)
            return out

    class AntiAlias(nn.Module):
        def __init__(self, channels, scale):
            super().__init__()
            sigma = (1 / scale - 1) / 2
            size = 2 * round(sigma * 4) + 1
            self.ka = size // 2
            self.kb = self.ka - 1 if size % 2 == 0 else self.ka
            coords = torch.arange(size, dtype=torch.float32)
            one_d = torch.exp(-(coords - (size - 1) / 2) ** 2 / (2 * sigma ** 2))
            kernel = torch.outer(one_d, one_d)
            kernel = (kernel / kernel.sum()).expand(channels, 1, size, size).clone()
            self.register_buffer("weight", kernel)
            self.channels, self.step = channels, int(1 / scale)

        def forward(self, x):
            if self.step == 1:
                return x
            out = F.conv2d(F.pad(x, (self.ka, self.kb, self.ka, self.kb)), self.weight,
                           groups=self.channels)
            return out[:, :, ::self.step, ::self.step]

    def gaussian(value, h, w):
        diff = _torch_grid(h, w).view(1, 1, h, w, 2) - value.view(*value.shape[:2], 1, 1, 2)
        return torch.exp(-0.5 * (diff ** 2).sum(-1) / 0.01)

    class KPDetector(nn.Module):
        def __init__(self):
            super().__init__()
            self.down = AntiAlias(3, KP["scale_factor"])
            self.hourglass = Hourglass(KP["block_expansion"], 3, KP["num_blocks"], KP["max_features"])
            self.kp = nn.Conv2d(self.hourglass.out_filters, NUM_KP, 7)
            self.jacobian = nn.Conv2d(self.hourglass.out_filters, 4 * NUM_KP, 7)
            with torch.no_grad():
                self.jacobian.weight.zero_()
                self.jacobian.bias.copy_(torch.tensor([1.0, 0, 0, 1] * NUM_KP))

        def forward(self, x):
            features = self.hourglass(self.down(x))
            pred = self.kp(features)
            n, k, h, w = pred.shape
            heat = F.softmax(pred.view(n, k, -1) / KP["temperature"], dim=2).view(n, k, h, w)
            value = (heat.unsqueeze(-1) * _torch_grid(h, w).view(1, 1, h, w, 2)).sum((2, 3))
            jac = self.jacobian(features).view(n, k, 4, h, w)
            jac = (heat.unsqueeze(2) * jac).view(n, k, 4, -1).sum(-1).view(n, k, 2, 2)
            return {"value": value, "jacobian": jac}

    class DenseMotion(nn.Module):
        def __init__(self):
            super().__init__()
            self.down = AntiAlias(3, MOTION["scale_factor"])
            self.hourglass = Hourglass(MOTION["block_expansion"], (NUM_KP + 1) * 4, MOTION["num_blocks"],
                                       MOTION["max_features"])
            self.mask = nn.Conv2d(self.hourglass.out_filters, NUM_KP + 1, 7, padding=3)
            self.occlusion = nn.Conv2d(self.hourglass.out_filters, 1, 7, padding=3)

        def forward(self, source, kp_source, kp_driving):
            source = self.down(source)
            n, c, h, w = source.shape
            heat = gaussian(kp_driving["value"], h, w) - gaussian(kp_source["value"], h, w)
            heat = torch.cat([torch.zeros_like(heat[:, :1]), heat], dim=1).unsqueeze(2)
            identity = _torch_grid(h, w).view(1, 1, h, w, 2)
            grid = identity - kp_driving["value"].view(n, NUM_KP, 1, 1, 2)
            jac = torch.matmul(kp_source["jacobian"], torch.inverse(kp_driving["jacobian"]))
            grid = torch.matmul(jac.view(n, NUM_KP, 1, 1, 2, 2), grid.unsqueeze(-1)).squeeze(-1)
            motions = torch.cat([identity.expand(n, 1, h, w, 2),
                                 grid + kp_source["value"].view(n, NUM_KP, 1, 1, 2)], dim=1)
            repeated = source.unsqueeze(1).expand(n, NUM_KP + 1, c, h, w).reshape(-1, c, h, w)
            deformed = F.grid_sample(repeated, motions.view(-1, h, w, 2), align_corners=True)
            features = torch.cat([heat, deformed.view(n, NUM_KP + 1, c, h, w)], dim=2).view(n, -1, h, w)
            prediction = self.hourglass(features)
            mask = F.softmax(self.mask(prediction), dim=1)
            deformation = (motions * mask.unsqueeze(-1)).sum(1)
            return deformation, torch.sigmoid(self.occlusion(prediction))

    class ResBlock(nn.Module):
        def __init__(self, f):
            super().__init__()
            self.conv1, self.conv2 = nn.Conv2d(f, f, 3, padding=1), nn.Conv2d(f, f, 3, padding=1)
            self.norm1, self.norm2 = nn.BatchNorm2d(f), nn.BatchNorm2d(f)

        def forward(self, x):
            return x + self.conv2(F.relu(self.norm2(self.conv1(F.relu(self.norm1(x))))))

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            e, cap, d = GEN["block_expansion"], GEN["max_features"], GEN["num_down_blocks"]
            self.motion = DenseMotion()
            self.first = nn.Sequential(nn.Conv2d(3, e, 7, padding=3), nn.BatchNorm2d(e), nn.ReLU())
            self.downs = nn.Sequential(*[Down(width(e, cap, i), width(e, cap, i + 1)) for i in range(d)])
            self.bottleneck = nn.Sequential(*[ResBlock(width(e, cap, d))
                                              for _ in range(GEN["num_bottleneck_blocks"])])
            self.ups = nn.Sequential(*[Up(width(e, cap, d - i), width(e, cap, d - i - 1))
                                       for i in range(d)])
            self.final = nn.Conv2d(e, 3, 7, padding=3)

        @staticmethod
        def deform(x, deformation):
            h, w = x.shape[2:]
            if deformation.shape[1:3] != (h, w):
                deformation = F.interpolate(deformation.permute(0, 3, 1, 2), size=(h, w),
                                            mode="bilinear").permute(0, 2, 3, 1)
            return F.grid_sample(x, deformation, align_corners=True)

        def forward(self, source, kp_source, kp_driving):
            out = self.downs(self.first(source))
            deformation, occlusion = self.motion(source, kp_source, kp_driving)
            out = self.deform(out, deformation)
            out = out * F.interpolate(occlusion, size=out.shape[2:], mode="bilinear")
            self.deform(source, deformation)          # the original computes 'deformed' too
            return torch.sigmoid(self.final(self.ups(self.bottleneck(out))))

    class VGG19(nn.Module):
        """Features at relu1_1 ... relu5_1 (random weights, frozen); layers as paddle's vgg19."""

        def __init__(self):
            super().__init__()
            plan = [[64], [64, "M", 128], [128, "M", 256], [256, 256, 256, "M", 512],
                    [512, 512, 512, "M", 512]]
            cin, self.slices = 3, nn.ModuleList()
            for part in plan:
                layers = []
                for item in part:
                    if item == "M":
                        layers.append(nn.MaxPool2d(2, ceil_mode=True))  # 1x1 stays 1x1, as Paddle
                    else:
                        layers += [nn.Conv2d(cin, item, 3, padding=1), nn.ReLU()]
                        cin = item
                self.slices.append(nn.Sequential(*layers))
            self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
            self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
            self.requires_grad_(False)

        def forward(self, x):
            out, features = (x - self.mean) / self.std, []
            for block in self.slices:
                out = block(out)
                features.append(out)
            return features

    class Pyramid(nn.Module):
        def __init__(self):
            super().__init__()
            self.downs = nn.ModuleList(AntiAlias(3, s) for s in SCALES)

        def forward(self, x):
            return [down(x) for down in self.downs]

    return KPDetector(), Generator(), VGG19(), Pyramid()


# --- driver --------------------------------------------------------------------------------
def worker(framework: str, threads: int, iters: int, warmup: int) -> Dict[str, float]:
    step = (paddle_step if framework == "paddle" else torch_step)(threads)
    for _ in range(warmup):
        step()
    start, start_cpu = time.perf_counter(), time.process_time()
    for _ in range(iters):
        step()
    return {"wall_ms": (time.perf_counter() - start) / iters * 1000,
            "cpu_ms": (time.process_time() - start_cpu) / iters * 1000}


def run_row(framework: str, args: argparse.Namespace) -> Dict[str, float]:
    cmd = [sys.executable, __file__, "--worker", framework, "--threads", str(args.threads),
           "--iters", str(args.iters), "--warmup", str(args.warmup)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"worker failed ({' '.join(cmd)}):\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--iters", type=int, default=5, help="timed iterations per round")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--worker", choices=("paddle", "torch"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.threads, args.iters, args.warmup)))
        return 0
    table = {"ours (Paddle dygraph)": "paddle"}
    if importlib.util.find_spec("torch") is not None:
        table["original's step (PyTorch eager)"] = "torch"
    else:
        print("PyTorch row skipped: torch is not importable")
    names = list(table)
    load = os.getloadavg()[0]
    results: Dict[str, List[Dict[str, float]]] = {n: [] for n in names}
    for r in range(args.rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            results[name].append(run_row(table[name], args))
    print(f"FOMM tiny training step, {SIZE}x{SIZE}, batch {BATCH}, {args.threads} thread(s), "
          f"{args.iters} iterations x {args.rounds} rounds (median); load average {load:.1f} "
          f"before, {os.getloadavg()[0]:.1f} after")
    print(f"{'row':34} {'ms/iter':>9} {'CPU ms/iter':>12} {'CPU x ours':>11}")
    base = None
    for name in names:
        wall = statistics.median(r["wall_ms"] for r in results[name])
        cpu = statistics.median(r["cpu_ms"] for r in results[name])
        base = base or cpu
        print(f"{name:34} {wall:9.1f} {cpu:12.1f} {cpu / base:11.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
