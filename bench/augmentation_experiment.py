"""Does labelled GAN augmentation help a classifier trained on 100 real images per class?

Three arms, each over several seeds, all tested on the full Fashion-MNIST test split (10,000):

* ``real``: the 100-per-class real subset only;
* ``real + flips/crops``: the same, with random horizontal flips and 2-pixel shifts;
* ``real + GAN``: the subset merged with M generated images per class, written by the
  labelled augmentation writer (``tools/generate.py augment``) and read back from disk.

Every arm trains the same classifier for the same number of steps. Also printed: the
per-class precision of the generated images (share the metric classifier assigns to their
label), which says why GAN augmentation helps or not.

    # 1. the real subset as an idx folder (the conditional GAN trains on it alone)
    python bench/augmentation_experiment.py prepare --data_root DATA --out SUBSET
    # 2. train a conditional GAN on SUBSET (see docs/gan_training.md), then
    python bench/augmentation_experiment.py run --data_root DATA --checkpoint COND_CKPT \
        --classifier checkpoints/fashion_mnist_classifier.pdparams
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path
from typing import Dict, List

import cv2
import numpy as np

SUBSET_SEED = 0


def subset(data_root: str, per_class: int):
    from ppgan_app.apps.gan.labelled_data import load_idx_arrays, per_class_subset
    x, y = load_idx_arrays(data_root, "train")
    keep = per_class_subset(y, per_class, SUBSET_SEED)
    return x[keep], y[keep]


def prepare(args: argparse.Namespace) -> None:
    """Write the real subset (train) and the full test split as an idx folder."""
    from ppgan_app.apps.gan.labelled_data import load_idx_arrays
    from ppgan_app.datasets.mnist import write_idx
    x, y = subset(args.data_root, args.per_class)
    test_x, test_y = load_idx_arrays(args.data_root, "test")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    to_u8 = lambda a: np.clip((a[:, 0] + 1.0) * 127.5 + 0.5, 0, 255).astype(np.uint8)  # noqa: E731
    write_idx(str(out / "train-images-idx3-ubyte.gz"), to_u8(x))
    write_idx(str(out / "train-labels-idx1-ubyte.gz"), y.astype(np.uint8))
    write_idx(str(out / "t10k-images-idx3-ubyte.gz"), to_u8(test_x))
    write_idx(str(out / "t10k-labels-idx1-ubyte.gz"), test_y.astype(np.uint8))
    print(f"wrote {len(x)} train images ({args.per_class} per class) and {len(test_x)} test images to {out}")


def read_folder(folder: Path, prefix: str):
    """Images ``[N, 1, H, W]`` in [-1, 1] and labels of ``<class>/<prefix>_*.png``."""
    xs, ys = [], []
    for path in sorted(folder.glob(f"*/{prefix}_*.png")):
        xs.append(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE))
        ys.append(int(path.parent.name))
    return (np.stack(xs)[:, None].astype(np.float32) / 127.5 - 1.0), np.asarray(ys, np.int64)


def run(args: argparse.Namespace) -> None:
    from ppgan_app.apps.gan.classifier import FitOptions, accuracy, fit_classifier
    from ppgan_app.metrics.classifier_features import load_classifier
    from ppgan_app.models.classifier import predict
    from ppgan_app.apps.gan.augment import write_augmented_dataset
    from ppgan_app.apps.gan.labelled_data import load_idx_arrays, resize_images

    import paddle
    paddle.base.core.set_num_threads(args.threads)
    real_x, real_y = subset(args.data_root, args.per_class)
    test_x, test_y = load_idx_arrays(args.data_root, "test")
    work = Path(tempfile.mkdtemp(prefix="augexp-"))
    try:
        results: Dict[str, List[float]] = {"real": [], "real + flips/crops": [], "real + GAN": []}
        precision = None
        for seed in args.seeds:
            folder = work / f"seed{seed}"
            write_augmented_dataset(args.checkpoint, folder, args.generated_per_class, real_x, real_y, seed=seed,
                                    truncation=args.truncation)
            rx, ry = read_folder(folder, "real")
            gx, gy = read_folder(folder, "gen")
            size = rx.shape[-1]
            test = resize_images(test_x, size)
            if precision is None and args.classifier:
                net, _ = load_classifier(args.classifier)
                pred = predict(net, gx)[1].argmax(1)
                precision = [float((pred[gy == c] == c).mean()) for c in range(10)]
            arms = {"real": (rx, ry, "none"), "real + flips/crops": (rx, ry, "flip_crop"),
                    "real + GAN": (np.concatenate([rx, gx]), np.concatenate([ry, gy]), "none")}
            for name, (x, y, augment) in arms.items():
                start = time.time()
                opts = FitOptions(epochs=1, min_steps=args.steps, batch_size=64, seed=seed, augment=augment)
                net = fit_classifier(x, y, 10, opts)
                results[name].append(accuracy(net, test, test_y))
                print(f"seed {seed} {name:20s} accuracy {results[name][-1]:.4f} ({time.time() - start:.0f} s, "
                      f"{len(x)} training images)", flush=True)
        print(f"\n| arm | test accuracy (mean ± std over seeds {list(args.seeds)}) |\n|---|---|")
        for name, accs in results.items():
            print(f"| {name} | {np.mean(accs):.4f} ± {np.std(accs):.4f} |")
        if precision is not None:
            print("\nper-class precision of generated images (metric classifier agrees with the label):")
            print(" ".join(f"{c}:{p:.2f}" for c, p in enumerate(precision)), f"mean {np.mean(precision):.3f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--data_root", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--per_class", type=int, default=100)
    r = sub.add_parser("run")
    r.add_argument("--data_root", required=True)
    r.add_argument("--checkpoint", required=True, help="conditional GAN trained on the subset")
    r.add_argument("--classifier", help="metric classifier, for the per-class precision of generated images")
    r.add_argument("--per_class", type=int, default=100)
    r.add_argument("--generated_per_class", type=int, default=500)
    r.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    r.add_argument("--steps", type=int, default=1500, help="classifier steps per arm (batch 64)")
    r.add_argument("--truncation", type=float)
    r.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    prepare(args) if args.command == "prepare" else run(args)


if __name__ == "__main__":
    main()
