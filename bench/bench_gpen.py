"""Benchmark GPEN face enhancement on the CPU: ms per face, and where the time goes.

Rows (random weights; speed does not depend on their values):

* ``gpen-512``: the published architecture's network alone, one 512x512 face per call;
* ``enhance-256``: ``FaceEnhancer.enhance`` on one 256x256 crop (what the FOMM pipeline
  hands it: resize to 512, network, resize back, feathered blend);
* ``gpen-512-batch2``: the same with two faces per call (reported per face);
* ``inference-512``: the same network exported (``paddle.jit.save``) and run by a Paddle
  Inference predictor with oneDNN. Paddle 3.3's oneDNN conv/matmul fusion passes crash
  (segfault while building ``FusedConv2dOp`` / ``FusedMatmulOp``) on GPEN's run-time
  (modulated) weights, so the fusion passes in ``UNSAFE_PASSES`` are switched off;
* ``tiny-64``: the tiny test architecture (size 64, widths / 32);
* ``paddlegan-512``: PaddleGAN 2.1.0's own GPEN (when ppgan is importable: run this script with
  the python of the scratch environment in ``tests/fixtures/make_gpen_fixtures.py``);
* ``before-paste-{tiny,512}`` / ``after-paste-{tiny,512}``: one whole output frame (the 512x512
  portrait, one face) with GPEN placed before paste-back (the 256 animated crop is enhanced,
  then pasted; PaddleGAN's order and ours) or after it (the crop is pasted, then the face's
  box in the output frame is enhanced), with the tiny or the published GPEN (random weights).

Rows are measured interleaved (one call of each row in turn, median per row), so load from
other processes hits all rows alike. A second table splits one 512 forward pass by layer
kind, with the convolution GFLOP each kind executes. Example::

    python bench/bench_gpen.py --threads 2 --rounds 3
"""
from __future__ import annotations

import argparse
import importlib.util
import logging
import resource
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Callable, Dict, List

import numpy as np

from harness import time_rows

LOG = logging.getLogger("bench_gpen")
REPO = Path(__file__).resolve().parents[1]
PPGAN_LOADER = REPO / "tests" / "fixtures" / "make_gpen_fixtures.py"
TINY_ARCH = {"size": 64, "style_dim": 16, "n_mlp": 2, "channel_divisor": 32}
FACES_PER_CALL = {"gpen-512-batch2": 2}
UNSAFE_PASSES = (
    "matmul_elementwise_add_fuse_pass", "matmul_activation_fuse_pass", "matmul_scale_fuse_pass",
    "scale_matmul_fuse_pass", "matmul_transpose_reshape_fuse_pass",
    "reshape_transpose_matmul_fuse_pass", "fc_onednn_enable_pass", "fc_fuse_pass",
    "operator_scale_onednn_fuse_pass", "matmul_add_act_fuse_pass", "conv2d_bias_fuse_pass",
    "conv2d_transpose_bias_fuse_pass", "conv_activation_onednn_fuse_pass",
    "conv_elementwise_add_onednn_fuse_pass", "matmul_elementwise_add_onednn_fuse_pass",
    "matmul_activation_onednn_fuse_pass")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2, help="Paddle CPU math threads")
    parser.add_argument("--rounds", type=int, default=3, help="timed calls per row")
    parser.add_argument("--rows",
                        default="gpen-512,inference-512,enhance-256,tiny-64,paddlegan-512",
                        help="comma-separated rows")
    parser.add_argument("--no_breakdown", action="store_true", help="skip the per-layer table")
    return parser.parse_args(argv)


def face(size: int) -> np.ndarray:
    """``[1, size, size, 3]`` uint8: the astronaut's face from skimage, resized."""
    import cv2
    from skimage import data

    return cv2.resize(data.astronaut()[40:240, 140:340], (size, size),
                      interpolation=cv2.INTER_AREA)[None]


def net_input(faces: np.ndarray):
    import paddle

    return paddle.to_tensor((faces.astype(np.float32).transpose(0, 3, 1, 2) / 255.0 - 0.5) / 0.5)


def make_rows(names: List[str], tmp: Path, threads: int) -> Dict[str, Callable[[], object]]:
    """Row name -> a no-argument call that processes one face."""
    import paddle
    from ppgan_app.faces.enhancement import GPEN, FaceEnhancer

    rows: Dict[str, Callable[[], object]] = {}
    x512 = net_input(face(512))
    if {"gpen-512", "gpen-512-batch2", "enhance-256"} & set(names):
        net = GPEN(512, 512, 8)
        net.eval()
        if "gpen-512" in names:
            rows["gpen-512"] = lambda: _forward(net, x512)
        if "gpen-512-batch2" in names:                  # two faces per call
            x2 = paddle.concat([x512, x512])
            rows["gpen-512-batch2"] = lambda: _forward(net, x2)
        if "enhance-256" in names:
            weights = tmp / "gpen512.pdparams"
            paddle.save(net.state_dict(), str(weights))
            enhancer = FaceEnhancer(weight_path=weights, batch_size=1)
            crop = face(256)
            rows["enhance-256"] = lambda: enhancer.enhance(crop)
    if "inference-512" in names:
        rows["inference-512"] = _inference_row(tmp, threads)
    if "tiny-64" in names:
        tiny = GPEN(**TINY_ARCH)
        tiny.eval()
        x64 = net_input(face(64))
        rows["tiny-64"] = lambda: _forward(tiny, x64)
    rows.update(_placement_rows(names, tmp))
    if "paddlegan-512" in names:
        ref = _paddlegan()
        if ref is None:
            LOG.info("ppgan not importable here: no paddlegan-512 row")
        else:
            theirs = ref.GPEN(size=512, style_dim=512, n_mlp=8)
            theirs.eval()
            rows["paddlegan-512"] = lambda: _forward(theirs, x512)
    return rows


def _placement_rows(names: List[str], tmp: Path) -> Dict[str, Callable[[], object]]:
    """GPEN before vs after paste-back, one output frame per call (see the module docstring)."""
    import paddle
    from skimage import data

    from ppgan_app.apps.expression_transfer.composite import Compositor
    from ppgan_app.faces.crop import crop_resize, face_crop_box
    from ppgan_app.faces.enhancement import GPEN, FaceEnhancer

    rows: Dict[str, Callable[[], object]] = {}
    portrait = data.astronaut()
    box = face_crop_box((175, 78, 275, 178), portrait.shape[:2])  # BlazeFace's face box
    crop = crop_resize(portrait, box, 256)                        # stands in for the animated face
    compose = Compositor(portrait, [box], ratio=0.4)
    x1, y1, x2, y2 = box
    for label, arch in (("tiny", TINY_ARCH), ("512", {"size": 512, "style_dim": 512, "n_mlp": 8})):
        wanted = [n for n in (f"before-paste-{label}", f"after-paste-{label}") if n in names]
        if not wanted:
            continue
        net = GPEN(**arch)
        weights = tmp / f"gpen-{label}.pdparams"
        paddle.save(net.state_dict(), str(weights))
        enhancer = FaceEnhancer(weight_path=weights, **arch)

        def before(enhancer=enhancer):
            return compose([enhancer.enhance(crop[None])[0]])

        def after(enhancer=enhancer):
            frame = compose([crop])
            frame[y1:y2, x1:x2] = enhancer.enhance(frame[None, y1:y2, x1:x2])[0]
            return frame

        for name, call in ((f"before-paste-{label}", before), (f"after-paste-{label}", after)):
            if name in names:
                rows[name] = call
    return rows


def _inference_row(tmp: Path, threads: int) -> Callable[[], object]:
    """GPEN-512 exported and run by Paddle Inference (oneDNN, fusion passes that crash off).
    Logs the largest difference from the dygraph network on the benchmark face."""
    import paddle
    import paddle.inference as paddle_infer
    from ppgan_app.faces.enhancement import GPEN

    net = GPEN(512, 512, 8)
    net.eval()
    x = net_input(face(512))
    spec = [paddle.static.InputSpec([1, 3, 512, 512], "float32", "faces")]
    paddle.jit.save(paddle.jit.to_static(net, input_spec=spec, full_graph=True), str(tmp / "gpen"))
    config = paddle_infer.Config(str(tmp / "gpen.json"), str(tmp / "gpen.pdiparams"))
    config.disable_gpu()
    config.switch_ir_optim(True)
    config.delete_pass("inplace_pass")
    config.set_cpu_math_library_num_threads(threads)
    config.disable_glog_info()
    config.enable_onednn()
    for name in UNSAFE_PASSES:
        config.delete_pass(name)
    predictor = paddle_infer.create_predictor(config)
    handle = predictor.get_input_handle(predictor.get_input_names()[0])
    output = predictor.get_output_handle(predictor.get_output_names()[0])
    array = x.numpy()

    def run():
        handle.reshape(list(array.shape))
        handle.copy_from_cpu(array)
        predictor.run()
        return output.copy_to_cpu()

    diff = np.abs(run() - _forward(net, x).numpy()).max()
    LOG.info("inference-512 vs dygraph: max abs diff %.2g", diff)
    return run


def _forward(net, x):
    import paddle

    with paddle.no_grad():
        return net(x)


def _paddlegan():
    if importlib.util.find_spec("ppgan") is None:
        return None
    spec = importlib.util.spec_from_file_location("make_gpen_fixtures", PPGAN_LOADER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.import_ppgan_gpen()


# --- where the time goes ---------------------------------------------------------------------
def _kind(name: str, layer) -> str:
    """Layer kind for the breakdown; ``None`` for layers not timed on their own."""
    cls = type(layer).__name__
    if cls == "Blur":
        return "blur after up-conv" if name.endswith("conv.blur") else "blur before encoder conv"
    if cls == "ModulatedConv2D":
        if layer.upsample:
            return "modulated up-conv (transposed 3x3 + its blur)"
        return "modulated 3x3 conv" if layer.kernel_size == 3 else "to-RGB 1x1 conv"
    return {"EqualConv2D": "encoder conv",
            "Upsample": "RGB skip upsample", "FusedLeakyReLU": "bias + leaky ReLU",
            "NoiseInjection": "feature concat", "EqualLinear": "linear layers"}.get(cls)


def _conv_gflop(layer, inputs, output) -> float:
    """GFLOP (2 x multiply-adds) of one modulated / encoder conv call."""
    weight = layer.weight.shape
    out_ch, in_ch, k = weight[-4], weight[-3], weight[-1]
    n, _, h, w = inputs[0].shape
    if getattr(layer, "upsample", False):          # transposed conv: per input pixel
        return 2.0 * n * h * w * in_ch * out_ch * k * k / 1e9
    oh, ow = output.shape[2], output.shape[3]
    return 2.0 * n * oh * ow * in_ch * out_ch * k * k / 1e9


def breakdown(rounds: int) -> List[tuple]:
    """``(kind, ms, GFLOP)`` per layer kind for one 512 forward pass (median over rounds)."""
    from ppgan_app.faces.enhancement import GPEN

    net = GPEN(512, 512, 8)
    net.eval()
    x = net_input(face(512))
    spent: Dict[str, List[float]] = defaultdict(list)
    flops: Dict[str, float] = defaultdict(float)
    starts: Dict[int, float] = {}

    def pre(layer, inputs):
        starts[id(layer)] = time.perf_counter()

    def make_post(kind: str):
        def post(layer, inputs, output):
            spent[kind][-1] += time.perf_counter() - starts.pop(id(layer))
            if record[0] and type(layer).__name__ in ("ModulatedConv2D", "EqualConv2D"):
                flops[kind] += _conv_gflop(layer, inputs, output)
        return post

    record = [False]                                  # count GFLOP in the first timed call only
    for name, layer in net.named_sublayers():
        kind = _kind(name, layer)
        if kind:
            layer.register_forward_pre_hook(pre)
            layer.register_forward_post_hook(make_post(kind))
            spent.setdefault(kind, [])
    for kind in spent:
        spent[kind].append(0.0)                       # the warm-up call's slot (dropped)
    _forward(net, x)
    totals = []
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    for r in range(rounds):
        record[0] = r == 0
        for kind in spent:
            spent[kind].append(0.0)
        start = time.perf_counter()
        _forward(net, x)
        totals.append(time.perf_counter() - start)
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    LOG.info("per 512 pass: user %.1f s, system %.1f s, %.2f M minor page faults",
             (usage1.ru_utime - usage0.ru_utime) / rounds,
             (usage1.ru_stime - usage0.ru_stime) / rounds,
             (usage1.ru_minflt - usage0.ru_minflt) / rounds / 1e6)
    table = [(kind, statistics.median(t[1:]) * 1000.0, flops.get(kind, 0.0))
             for kind, t in spent.items()]
    table.sort(key=lambda row: -row[1])
    table.append(("whole forward pass", statistics.median(totals) * 1000.0,
                  sum(flops.values())))
    return table


def main(argv=None) -> None:
    args = parse_args(argv)
    from ppgan_app.utils.cpu_env import apply_cpu_env

    apply_cpu_env(threads=args.threads)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    import paddle

    paddle.set_device("cpu")
    paddle.base.core.set_num_threads(args.threads)
    names = [n.strip() for n in args.rows.split(",") if n.strip()]
    cpu0 = time.process_time()
    if names:
        with tempfile.TemporaryDirectory() as tmp:
            ms = time_rows(make_rows(names, Path(tmp), args.threads), args.rounds)
        print(f"\nGPEN, {args.threads} thread(s), median of {args.rounds} interleaved calls, "
              f"batch 1")
        print("| row | wall ms per face | CPU ms per face |\n|---|---|---|")
        for name, (wall_ms, _, cpu_ms) in ms.items():
            faces = FACES_PER_CALL.get(name, 1)
            print(f"| {name} | {wall_ms / faces:.0f} | {cpu_ms / faces:.0f} |")
    if not args.no_breakdown:
        print("\nOne 512 forward pass by layer kind (inclusive hook timings: the up-conv row "
              "includes the 'blur after up-conv' row)")
        print("| layer kind | ms | conv GFLOP | GFLOP/s |\n|---|---|---|---|")
        for kind, value, gflop in breakdown(args.rounds):
            rate = f"{gflop / value * 1000.0:.0f}" if gflop else "-"
            print(f"| {kind} | {value:.0f} | {gflop:.1f} | {rate} |" if gflop
                  else f"| {kind} | {value:.0f} | - | - |")
    print(f"\nprocess CPU time {time.process_time() - cpu0:.0f} s")


if __name__ == "__main__":
    main()
