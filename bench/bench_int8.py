"""Does int8 pay on this CPU? Paddle's post-training quantization on the convs FOMM spends its
time in, run by Paddle Inference with oneDNN in fp32, bf16 and int8.

The network is four 3x3 convs of 256 channels at 64x64 with ReLU and a residual mix: the shape
of vox-256's bottleneck, which is about 60% of a vox-256 frame. Its int8 copy is made the
documented way: ``paddle.quantization.PTQ`` with ``AbsmaxObserver`` for weights and activations,
calibration on random inputs, ``convert``, ``paddle.jit.save``; the predictor then gets
``enable_onednn_int8()``. Prints per row: CPU ms and wall ms per call (median of ``--runs``) and
the PSNR against the dygraph fp32 output, or the error when the predictor fails.

    python bench/bench_int8.py
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

SHAPE = [1, 256, 64, 64]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=10)
    return parser.parse_args(argv)


def build_net():
    import paddle
    from paddle import nn

    class ConvStack(nn.Layer):
        """Four residual-mixed 3x3 convs, ``[N,256,H,W] -> [N,256,H,W]``."""

        def __init__(self) -> None:
            super().__init__()
            self.convs = nn.LayerList([nn.Conv2D(256, 256, 3, padding=1) for _ in range(4)])

        def forward(self, x):
            for conv in self.convs:
                x = paddle.nn.functional.relu(conv(x)) * 0.5 + x * 0.5
            return x

    return ConvStack


def export(net, path: Path) -> None:
    import paddle
    from paddle.static import InputSpec

    static = paddle.jit.to_static(net, input_spec=[InputSpec(SHAPE, "float32")], full_graph=True)
    paddle.jit.save(static, str(path))


def predictor(path: Path, precision: str, threads: int):
    import paddle.inference as paddle_infer

    model = path.with_suffix(".json")
    config = paddle_infer.Config(str(model), str(path.with_suffix(".pdiparams")))
    config.disable_gpu()
    config.disable_glog_info()
    config.set_cpu_math_library_num_threads(threads)
    config.enable_onednn()
    if precision == "bf16":
        config.enable_onednn_bfloat16()
    elif precision == "int8":
        config.enable_onednn_int8()
    pred = paddle_infer.create_predictor(config)

    def run(array: np.ndarray) -> np.ndarray:
        handle = pred.get_input_handle(pred.get_input_names()[0])
        handle.reshape(list(array.shape))
        handle.copy_from_cpu(array)
        pred.run()
        return pred.get_output_handle(pred.get_output_names()[0]).copy_to_cpu()

    return run


def psnr(got: np.ndarray, ref: np.ndarray) -> float:
    mse = float(((got.astype(np.float64) - ref) ** 2).mean())
    peak = float(ref.max() - ref.min())
    return float("inf") if mse == 0 else 10 * np.log10(peak ** 2 / mse)


def main(argv=None) -> None:
    args = parse_args(argv)
    from ppgan_app.utils.cpu_env import apply_cpu_env

    apply_cpu_env(args.threads)
    import paddle
    from paddle.quantization import PTQ, QuantConfig
    from paddle.quantization.observers import AbsmaxObserver

    paddle.set_device("cpu")
    paddle.seed(0)
    ConvStack = build_net()
    net = ConvStack()
    net.eval()
    x = paddle.rand(SHAPE)
    reference = net(x).numpy()
    ptq = PTQ(QuantConfig(activation=AbsmaxObserver(), weight=AbsmaxObserver()))
    calibrating = ptq.quantize(net, inplace=False)     # before any tracing: it deep-copies
    calibrating.eval()
    for _ in range(4):
        calibrating(paddle.rand(SHAPE))
    quantized = ptq.convert(calibrating, inplace=False)
    plain = ConvStack()
    plain.set_state_dict(net.state_dict())
    plain.eval()
    folder = Path(tempfile.mkdtemp())
    export(plain, folder / "fp32")
    export(quantized, folder / "int8")
    array = x.numpy()
    print(f"\n4 convs 256->256 3x3 at 64x64, {args.threads} threads, median of {args.runs}")
    print(f"{'graph / precision':<22}{'CPU ms':>9}{'wall ms':>9}{'PSNR dB':>9}")
    for graph, precision in (("fp32", "fp32"), ("fp32", "bf16"), ("int8", "int8")):
        label = f"{graph} / {precision}"
        try:
            run = predictor(folder / graph, precision, args.threads)
            out = run(array)
            cpu, wall = [], []
            for _ in range(args.runs):
                start, start_cpu = time.perf_counter(), time.process_time()
                run(array)
                wall.append(time.perf_counter() - start)
                cpu.append(time.process_time() - start_cpu)
        except Exception as err:  # noqa: BLE001 - a bench row reports the failure and goes on
            reason = " ".join(str(err).split())
            print(f"{label:<22} failed: {type(err).__name__}: {reason[:160]}")
            continue
        print(f"{label:<22}{statistics.median(cpu) * 1000:>9.1f}"
              f"{statistics.median(wall) * 1000:>9.1f}{psnr(out, reference):>9.1f}")


if __name__ == "__main__":
    main()
