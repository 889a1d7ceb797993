"""Super-resolution in expression transfer: upscale the animated face crop, or the whole frame?

``--super_resolution`` upscales the animated face crop before it is pasted back into the
full-resolution portrait. The alternative is to render a lower-resolution frame (the portrait
shrunk so its face crop is the network's size, the face pasted in at its own size) and upscale
the whole frame. This bench measures both against the original picture.

For each portrait (default: scikit-image's astronaut, the kit's test portrait), picture cut to a
multiple of 4:

* the face is found (YuNet) and grown to the kit's crop box (PaddleGAN's margin rule);
* the *animated crop* stand-in is that box shrunk to a square of ``1/ratio`` of its height
  (PIL's anti-aliased bicubic, the SR training pairs' filter): a perfect animation of the
  unchanged face. ``--ratio 4`` (default): x4 brings it back to the box's size, as FOMM's 256 px
  crop in a 1024 px box; the 512 px astronaut's 194 px box then gives a 48 px crop. ``--ratio
  2.5``: a 256 px crop in a 640 px box;
* the *low-resolution frame* is the whole picture shrunk by ``ratio`` with the same filter (its
  face region is the same low-resolution face as the crop).

Rows, each producing the full-size frame:

* ``face, no SR``: the crop pasted back as today without ``--super_resolution`` (resized into
  its box, feathered mask, the real portrait around it);
* ``face, SR x4``: the kit's path: ``FaceUpscaler`` on the crop, then the same paste-back;
* ``frame, bicubic`` and ``frame, SR x4``: the low-resolution frame upscaled whole (SR x4, then
  an area resize to the original size when ``ratio`` is not 4).

Figures, against the original: PSNR-Y and SSIM-Y in the detected face box and over the whole
frame (4 border pixels dropped), the sharpness ratio in the face box (variance of the Laplacian
of Y relative to the original's), and process-CPU milliseconds per frame (median of interleaved
rounds, one thread). Example (the figures of docs/super_resolution.md)::

    python bench/bench_sr_faces.py --weight_path RUN/iter_0001000_checkpoint.pdparams \\
        --comparison docs/super_resolution_faces.jpg
"""
from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from harness import machine_line, time_rows

SCALE = 4
Box = Tuple[int, int, int, int]
Frame = Callable[[], np.ndarray]   # () -> [H, W, 3] uint8 full-size frame


@dataclass
class Scene:
    """One portrait ready to compare: ``original [H,W,3] uint8`` (H, W multiples of 4), the
    detected ``face`` box, the paste ``box``, the animated ``crop [S,S,3]`` and the
    ``low [H/4,W/4,3]`` frame."""

    name: str
    original: np.ndarray
    face: Box
    box: Box
    crop: np.ndarray
    low: np.ndarray


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weight_path", default="pan-x4",
                        help="SR weights: a kit SR checkpoint, a PaddleGAN file or a preset name "
                             "(default pan-x4: PaddleGAN's PAN x4, downloaded once)")
    parser.add_argument("--portraits", nargs="*", default=[],
                        help="portrait files (default: scikit-image's astronaut)")
    parser.add_argument("--ratio", type=float, default=4.0,
                        help="face box height / animated crop side (default 4: x4 fits exactly)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per row")
    parser.add_argument("--threads", type=int, default=1, help="Paddle CPU math threads")
    parser.add_argument("--comparison", help="write the first portrait's paste region, every row "
                                             "and the original side by side (.jpg/.png)")
    args = parser.parse_args(argv)
    if not 1.0 <= args.ratio <= SCALE:
        parser.error(f"--ratio must be in [1, {SCALE}] (an SR x{SCALE} network), got {args.ratio:g}")
    return args


def load_portraits(paths: Sequence[str]) -> List[Tuple[str, np.ndarray]]:
    """``(name, [H, W, 3] uint8)`` per path, or scikit-image's astronaut when none is given."""
    if not paths:
        from skimage import data

        return [("astronaut", data.astronaut())]
    from ppgan_app.datasets.image_folder import read_image

    return [(Path(p).stem, read_image(Path(p))) for p in paths]


def make_scene(name: str, image: np.ndarray, detect: Callable[[np.ndarray], np.ndarray],
               ratio: float = SCALE) -> Scene:
    """The largest face's crop box, its animated-crop stand-in and the frame shrunk by ``ratio``.

    Raises:
        InputError: no face in the picture.
    """
    from ppgan_app.datasets.sr_pairs import bicubic_resize, mod_crop
    from ppgan_app.errors import InputError
    from ppgan_app.faces.crop import face_crop_box

    original = mod_crop(image, SCALE)
    faces = detect(original)
    if not len(faces):
        raise InputError(f"no face found in {name}: pass portraits with a visible face")
    face = tuple(int(round(v)) for v in faces[0][:4])
    height, width = original.shape[:2]
    face = (max(face[0], 0), max(face[1], 0), min(face[2], width), min(face[3], height))
    box = face_crop_box(face, original.shape[:2])
    side = max(8, round((box[3] - box[1]) / ratio))
    x1, y1, x2, y2 = box
    crop = bicubic_resize(np.ascontiguousarray(original[y1:y2, x1:x2]), (side, side))
    low = bicubic_resize(original, (round(width / ratio), round(height / ratio)))
    return Scene(name, original, face, box, crop, low)


def make_rows(scene: Scene, upscaler, paste_ratio: float) -> Dict[str, Frame]:
    """Row name -> a call rendering the full-size frame (see the module docstring);
    ``paste_ratio`` is the paste mask's ``--ratio``."""
    import cv2

    from ppgan_app.apps.expression_transfer.composite import Compositor
    from ppgan_app.datasets.sr_pairs import bicubic_resize

    paste = Compositor(scene.original, [scene.box], ratio=paste_ratio)
    height, width = scene.original.shape[:2]

    def frame_sr() -> np.ndarray:
        big = upscaler.upscaler.upscale(scene.low)
        if big.shape[:2] == (height, width):
            return big
        return cv2.resize(big, (width, height), interpolation=cv2.INTER_AREA)

    return {
        "face, no SR": lambda: paste([scene.crop]),
        "face, SR x4": lambda: paste([upscaler.upscale(scene.crop[None])[0]]),
        "frame, bicubic": lambda: bicubic_resize(scene.low, (width, height)),
        "frame, SR x4": frame_sr,
    }


def scores(frame: np.ndarray, scene: Scene) -> Dict[str, float]:
    """PSNR-Y / SSIM-Y in the face box and over the frame, sharpness ratio in the face box."""
    from ppgan_app.apps.super_resolution.evaluation import sharpness
    from ppgan_app.metrics.psnr_ssim import PSNR, SSIM

    x1, y1, x2, y2 = scene.face
    out = {}
    for region, (pred, gt, border) in {
            "face": (frame[y1:y2, x1:x2], scene.original[y1:y2, x1:x2], 0),
            "frame": (frame, scene.original, SCALE)}.items():
        for key, metric in (("psnr", PSNR(value_range="[0,1]", crop_border=border, test_y_channel=True)),
                            ("ssim", SSIM(value_range="[0,1]", crop_border=border, test_y_channel=True))):
            metric.update(pred.transpose(2, 0, 1)[None] / 255.0, gt.transpose(2, 0, 1)[None] / 255.0)
            out[f"{key}_{region}"] = metric.accumulate()
    out["sharpness_face"] = (sharpness(frame[y1:y2, x1:x2], 0)
                             / max(sharpness(scene.original[y1:y2, x1:x2], 0), 1e-12))
    return out


def comparison(scene: Scene, frames: Dict[str, np.ndarray]) -> np.ndarray:
    """The paste box with a quarter of its size around it, per row and the original, x2."""
    from ppgan_app.apps.super_resolution.evaluation import labelled_strip

    x1, y1, x2, y2 = scene.box
    height, width = scene.original.shape[:2]
    mx, my = (x2 - x1) // 4, (y2 - y1) // 4
    region = (slice(max(y1 - my, 0), min(y2 + my, height)), slice(max(x1 - mx, 0), min(x2 + mx, width)))
    panels = {name: img[region] for name, img in frames.items()}
    panels["original"] = scene.original[region]
    return labelled_strip(panels, zoom=2)


def write_picture(path: str, rgb: np.ndarray) -> None:
    import cv2

    from ppgan_app.errors import OutputError
    from ppgan_app.utils.safe_files import atomic_output

    with atomic_output(path) as tmp:
        if not cv2.imwrite(str(tmp), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85]):
            raise OutputError(f"could not write {path} (use .jpg or .png)")


def run(args: argparse.Namespace) -> None:
    from ppgan_app.apps.expression_transfer.options import TransferOptions
    from ppgan_app.apps.super_resolution.faces import FaceUpscaler
    from ppgan_app.faces.detectors import build_face_detector

    upscaler = FaceUpscaler("x4", args.weight_path)
    detect = build_face_detector("yunet")
    paste_ratio = TransferOptions().ratio
    print(f"\n{machine_line()}; {args.threads} thread(s); box / crop ratio {args.ratio:g}; "
          f"SR weights {args.weight_path}")
    print("| portrait | crop box -> animated crop | row | PSNR-Y face | SSIM-Y face | PSNR-Y frame "
          "| SSIM-Y frame | sharpness face | CPU ms/frame |\n|---|---|---|---|---|---|---|---|---|")
    for index, (name, image) in enumerate(load_portraits(args.portraits)):
        scene = make_scene(name, image, detect, args.ratio)
        rows = make_rows(scene, upscaler, paste_ratio)
        frames = {row: call() for row, call in rows.items()}
        timings = time_rows(rows, args.rounds, warmup=0)
        x1, y1, x2, y2 = scene.box
        sizes = f"{x2 - x1}x{y2 - y1} -> {scene.crop.shape[0]}"
        for row, frame in frames.items():
            s = scores(frame, scene)
            print(f"| {name} | {sizes} | {row} | {s['psnr_face']:.2f} | {s['ssim_face']:.4f} | "
                  f"{s['psnr_frame']:.2f} | {s['ssim_frame']:.4f} | {s['sharpness_face']:.2f} | "
                  f"{timings[row][2]:.1f} |")
        if args.comparison and index == 0:
            write_picture(args.comparison, comparison(scene, frames))
            print(f"comparison written to {args.comparison}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    from ppgan_app.cli.common import run_cli
    from ppgan_app.utils.process import apply_process_policy, prepare_process

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    prepare_process()

    def work() -> int:
        apply_process_policy(threads=args.threads, device="cpu")
        run(args)
        return 0

    return run_cli(work)


if __name__ == "__main__":
    raise SystemExit(main())
