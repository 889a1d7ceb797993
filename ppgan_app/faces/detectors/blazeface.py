"""BlazeFace (Bazarevsky et al., 2019; MediaPipe's front-camera model) on PaddleGAN's weights.

The network keeps PaddleGAN's attribute names, so ``blazeface.pdparams`` (101,390 parameters) and
``anchors.npy`` (896 anchors) load unchanged. It sees a 128x128 image in [-1, 1] and predicts, per
anchor, a box, six keypoints and a score; boxes scoring >= 0.5 are merged by weighted NMS at
IoU 0.3 (as PaddleGAN's ``blazeface`` detector).

PaddleGAN shows the model only the central square of a frame, shrunk to 128 px: faces outside
that square are missed, and so are faces smaller than about a fifth of it (the front model was
trained on selfies). :class:`BlazeFaceDetector` keeps PaddleGAN's result for what it finds and
adds two things: the whole frame is letterboxed to a square instead of cropped, and the frame is
also searched in overlapping tiles of half and a quarter of its side (each upscaled to 128 px), so
small faces are found rather than silently missed (tiles are searched only while nothing has been
found, which keeps their false positives out of frames where the whole view finds a face).
"""
from __future__ import annotations

import logging
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

from ppgan_app.faces.detectors.base import box_iou_matrix, clip_faces, sort_largest_first

logger = logging.getLogger(__name__)

#: Network input side.
INPUT_SIDE = 128
NUM_ANCHORS = 896
#: Box and keypoint regression scale (pixels of the 128 input per anchor unit).
COORD_SCALE = 128.0
#: Raw scores are clipped to this magnitude before the sigmoid.
SCORE_CLIP = 100.0
#: Minimum face score kept (PaddleGAN's detector setting; the network's own default is 0.75).
MIN_SCORE = 0.5
#: Detections overlapping more than this IoU are merged by weighted NMS.
NMS_IOU = 0.3


def build_blazeface_net():
    """The BlazeFace network (a ``paddle.nn.Layer``; paddle is imported here, on demand)."""
    import paddle.nn as nn
    import paddle.nn.functional as F

    class BlazeBlock(nn.Layer):
        """Depthwise 3x3 + pointwise 1x1 with a residual; stride 2 max-pools the residual and
        zero-pads extra output channels."""

        def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
            super().__init__()
            self.stride = stride
            self.channel_pad = cout - cin
            if stride == 2:
                self.max_pool = nn.MaxPool2D(kernel_size=2, stride=2)
            self.convs = nn.Sequential(
                nn.Conv2D(cin, cin, 3, stride=stride, padding=0 if stride == 2 else 1,
                          groups=cin),
                nn.Conv2D(cin, cout, 1))
            self.act = nn.ReLU()

        def forward(self, x):
            if self.stride == 2:
                h = F.pad(x, [0, 2, 0, 2])
                x = self.max_pool(x)
            else:
                h = x
            if self.channel_pad > 0:
                x = F.pad(x, [0, 0, 0, self.channel_pad, 0, 0, 0, 0])
            return self.act(self.convs(h) + x)

    class BlazeFaceNet(nn.Layer):
        """``[N,3,128,128]`` in [-1, 1] → ``(regressors [N,896,16], logits [N,896,1])``."""

        def __init__(self) -> None:
            super().__init__()
            widths1 = [(24, 24, 1), (24, 28, 1), (28, 32, 2), (32, 36, 1), (36, 42, 1),
                       (42, 48, 2), (48, 56, 1), (56, 64, 1), (64, 72, 1), (72, 80, 1),
                       (80, 88, 1)]
            self.backbone1 = nn.Sequential(nn.Conv2D(3, 24, 5, stride=2), nn.ReLU(),
                                           *[BlazeBlock(a, b, s) for a, b, s in widths1])
            self.backbone2 = nn.Sequential(BlazeBlock(88, 96, 2),
                                           *[BlazeBlock(96, 96) for _ in range(4)])
            self.classifier_8 = nn.Conv2D(88, 2, 1)
            self.classifier_16 = nn.Conv2D(96, 6, 1)
            self.regressor_8 = nn.Conv2D(88, 32, 1)
            self.regressor_16 = nn.Conv2D(96, 96, 1)

        def forward(self, x):
            x = F.pad(x, [1, 2, 1, 2])
            n = x.shape[0]
            fine = self.backbone1(x)        # [N,88,16,16]
            coarse = self.backbone2(fine)   # [N,96,8,8]

            def flat(t, width):
                return t.transpose([0, 2, 3, 1]).reshape([n, -1, width])

            import paddle

            logits = paddle.concat([flat(self.classifier_8(fine), 1),
                                    flat(self.classifier_16(coarse), 1)], axis=1)
            regs = paddle.concat([flat(self.regressor_8(fine), 16),
                                  flat(self.regressor_16(coarse), 16)], axis=1)
            return regs, logits

    return BlazeFaceNet()


def decode(regs: np.ndarray, logits: np.ndarray, anchors: np.ndarray,
           min_score: float = MIN_SCORE) -> np.ndarray:
    """Candidate detections of one 128x128 input.

    Args:
        regs: ``[896,16]`` raw regressors; ``logits``: ``[896,1]`` raw scores;
        anchors: ``[896,4]`` ``(cx, cy, w, h)`` in [0, 1].

    Returns:
        ``[K,17] float32``: ``ymin, xmin, ymax, xmax`` in [0, 1] units of the input, six
        keypoints ``(x, y)``, score; the anchors scoring >= ``min_score``, in anchor order.
    """
    scores = 1.0 / (1.0 + np.exp(-np.clip(logits[:, 0], -SCORE_CLIP, SCORE_CLIP)))
    keep = scores >= min_score
    r, a = regs[keep].astype(np.float32), anchors[keep]
    cx = r[:, 0] / COORD_SCALE * a[:, 2] + a[:, 0]
    cy = r[:, 1] / COORD_SCALE * a[:, 3] + a[:, 1]
    w = r[:, 2] / COORD_SCALE * a[:, 2]
    h = r[:, 3] / COORD_SCALE * a[:, 3]
    out = np.empty((len(r), 17), np.float32)
    out[:, 0], out[:, 1], out[:, 2], out[:, 3] = cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2
    out[:, 4:16:2] = r[:, 4:16:2] / COORD_SCALE * a[:, 2:3] + a[:, 0:1]
    out[:, 5:16:2] = r[:, 5:16:2] / COORD_SCALE * a[:, 3:4] + a[:, 1:2]
    out[:, 16] = scores[keep]
    return out


def weighted_nms(dets: np.ndarray, threshold: float = NMS_IOU) -> np.ndarray:
    """BlazeFace's weighted NMS: each cluster (IoU > ``threshold`` with its best box) becomes the
    score-weighted mean of its coordinates and the mean of its scores.

    Args:
        dets: ``[K,17]`` rows as from :func:`decode` (box in columns 0-3, score in 16).
    Returns:
        ``[M,17] float32``, best cluster first.
    """
    if len(dets) == 0:
        return np.zeros((0, 17), np.float32)
    remaining = np.argsort(-dets[:, 16], kind="stable")
    out = []
    while len(remaining):
        best = dets[remaining[0]]
        ious = box_iou_matrix(best[None, :4], dets[remaining, :4])[0]
        cluster = remaining[ious > threshold]
        remaining = remaining[~(ious > threshold)]
        merged = best.copy()
        if len(cluster) > 1:
            weights = dets[cluster, 16:17]
            merged[:16] = (dets[cluster, :16] * weights).sum(axis=0) / weights.sum()
            merged[16] = weights.sum() / len(cluster)
        out.append(merged)
    return np.stack(out).astype(np.float32)


def central_square(image: np.ndarray) -> Tuple[np.ndarray, Tuple[int, int], int]:
    """PaddleGAN's view of a frame: shrink the short side to 128 (area interpolation) and keep
    the central 128x128. Returns ``(view, (x_shift, y_shift), short side)`` to map results back
    as ``unit * short_side + shift``."""
    height, width = image.shape[:2]
    if height > width:
        small = cv2.resize(image, (INPUT_SIDE, int(height * INPUT_SIDE / width)),
                           interpolation=cv2.INTER_AREA)
        start = (small.shape[0] - small.shape[1]) // 2
        return small[start:start + INPUT_SIDE], (0, (height - width) // 2), width
    small = cv2.resize(image, (int(width * INPUT_SIDE / height), INPUT_SIDE),
                       interpolation=cv2.INTER_AREA)
    start = (small.shape[1] - small.shape[0]) // 2
    return small[:, start:start + INPUT_SIDE], ((width - height) // 2, 0), height


def tile_grid(image_hw: Tuple[int, int], side: int) -> List[Tuple[int, int]]:
    """Top-left corners of ``side``-pixel squares overlapping by half that cover an image."""
    height, width = image_hw

    def starts(length: int) -> List[int]:
        if length <= side:
            return [0]
        step = side // 2
        points = list(range(0, length - side, step)) + [length - side]
        return sorted(set(points))

    return [(x, y) for y in starts(height) for x in starts(width)]


class BlazeFaceDetector:
    """BlazeFace on PaddleGAN's weights, with small faces found by tiling.

    Args:
        weight_path: weights file or known name (default ``blazeface``, cached download).
        anchors_path: anchors file or known name (default ``blazeface-anchors``).
        net, anchors: an already loaded network and ``[896,4]`` anchors (tests).
        min_score: minimum face score.
        tile_levels: finer levels searched, coarse to fine, while no face has been found: level
            ``l`` uses overlapping squares of ``1/2**l`` of the frame's long side (level 0 is
            the whole frame, letterboxed).
        min_tile: smallest tile side in frame pixels.
        tile_score: minimum score of faces found in tiles (upscaled tiles give more false
            positives than the whole frame).
        refine: re-detect faces smaller than a sixth of their view at 4x their size (their
            boxes are then as large as the model draws faces it sees well; see
            :meth:`_refine_small`).
        bgr: feed the network BGR as PaddleGAN's pipeline does (its ``FaceAlignment`` flips
            RGB to BGR for every detector, S3FD's convention). The model was trained on RGB:
            on ``astronaut()`` RGB gives the face score 1.0 and BGR 0.8, so RGB is the default.

    Raises:
        WeightsUnavailableError, CheckpointError: weights missing or not BlazeFace's.
    """

    def __init__(self, weight_path: Optional[str] = None, anchors_path: Optional[str] = None,
                 net=None, anchors: Optional[np.ndarray] = None, min_score: float = MIN_SCORE,
                 tile_levels: int = 2, min_tile: int = 64, tile_score: float = 0.75,
                 refine: bool = True, bgr: bool = False) -> None:
        from ppgan_app.faces.detectors.weights import (load_anchors, load_net_weights,
                                                       resolve_detector_files)

        purpose = "--face_detector blazeface"
        needed = [name for name, absent in ((weight_path or "blazeface", net is None),
                                            (anchors_path or "blazeface-anchors", anchors is None))
                  if absent]
        resolve_detector_files(needed, purpose)  # every missing file named in one message
        if net is None:
            net = build_blazeface_net()
            load_net_weights(net, weight_path or "blazeface", purpose)
        if anchors is None:
            anchors = load_anchors(anchors_path or "blazeface-anchors", purpose, NUM_ANCHORS)
        net.eval()
        self.net = net
        self.anchors = np.asarray(anchors, np.float32)
        self.min_score = min_score
        self.tile_levels = tile_levels
        self.min_tile = min_tile
        self.tile_score = tile_score
        self.refine = refine
        self.bgr = bgr

    # -- the network on 128x128 views

    def predict(self, views: np.ndarray) -> List[np.ndarray]:
        """Detections per view: ``views [n,128,128,3] uint8`` (channel order as fed) → list of
        ``[K,17]`` (see :func:`decode`) after weighted NMS, coordinates in [0, 1] of the view."""
        import paddle

        x = views.astype(np.float32).transpose(0, 3, 1, 2) / 127.5 - 1.0
        with paddle.no_grad():
            regs, logits = self.net(paddle.to_tensor(x))
        regs, logits = regs.numpy(), logits.numpy()
        return [weighted_nms(decode(regs[i], logits[i], self.anchors, self.min_score))
                for i in range(len(views))]

    def detect_paddlegan(self, image_bgr: np.ndarray) -> np.ndarray:
        """PaddleGAN's detection exactly: central square only. ``[K,5]`` by descending score,
        in pixels of ``image_bgr [H,W,3] uint8`` (BGR, as PaddleGAN feeds it)."""
        view, (dx, dy), short = central_square(image_bgr)
        dets = self.predict(view[None])[0]
        boxes = dets[:, [1, 0, 3, 2]] * short + np.array([dx, dy, dx, dy], np.float32)
        return np.concatenate([boxes, dets[:, 16:17]], axis=1).astype(np.float32)

    # -- whole frame + tiles

    def _level_views(self, canvas: np.ndarray, image_hw: Tuple[int, int], level: int
                     ) -> Tuple[np.ndarray, List[Tuple[int, int, int, int]]]:
        """128x128 views of one level and each view's ``(x, y, side, level)`` in frame pixels
        (``canvas`` is the frame padded to a square of its long side)."""
        side = canvas.shape[0] // 2 ** level
        corners = [(0, 0)] if level == 0 else tile_grid(image_hw, side)
        interp = cv2.INTER_AREA if side > INPUT_SIDE else cv2.INTER_LINEAR
        views = [cv2.resize(canvas[y:y + side, x:x + side], (INPUT_SIDE, INPUT_SIDE),
                            interpolation=interp) for x, y in corners]
        return np.stack(views), [(x, y, side, level) for x, y in corners]

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Faces ``[K,5] float32`` in ``image [H,W,3] uint8`` RGB, largest first."""
        image = np.ascontiguousarray(image[..., ::-1] if self.bgr else image)
        height, width = image.shape[:2]
        canvas = np.zeros((max(height, width),) * 2 + (3,), np.uint8)
        canvas[:height, :width] = image
        kept = np.zeros((0, 17), np.float32)
        side = canvas.shape[0]
        for level in range(self.tile_levels + 1):
            side = canvas.shape[0] // 2 ** level
            if level > 0 and side < self.min_tile:
                break
            views, where = self._level_views(canvas, (height, width), level)
            rows = [_to_frame(dets, place, (height, width))
                    for dets, place in zip(self.predict(views), where)]
            kept = weighted_nms(np.concatenate(rows))
            if level > 0:
                kept = kept[kept[:, 16] >= max(self.min_score, self.tile_score)]
            if len(kept):
                if level > 0:
                    logger.debug("blazeface: no face in the whole frame; %d small face(s) found "
                                "in tiles of 1/%d of it", len(kept), 2 ** level)
                break
        if len(kept) and self.refine:
            kept = self._refine_small(canvas, kept, view_side=side)
        faces = np.concatenate([kept[:, [1, 0, 3, 2]], kept[:, 16:17]], axis=1)
        return sort_largest_first(clip_faces(faces, (height, width)))

    def _refine_small(self, canvas: np.ndarray, faces: np.ndarray, view_side: int) -> np.ndarray:
        """Re-detect faces smaller than a sixth of their view in a square of 4x their size.

        The front model's boxes grow too large for faces under about a sixth of its view (on a
        50 px face in a 512 px frame the box is 62 px); at a quarter of the view they are
        within the model's usual spread (95-110 px for a 100 px face)."""
        pad = canvas.shape[0]
        padded = cv2.copyMakeBorder(canvas, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
        out = faces.copy()
        for i, face in enumerate(faces):
            size = max(face[2] - face[0], face[3] - face[1])
            if size * 6 > view_side:
                continue
            crop_side = int(round(4 * size))
            x = int(round((face[1] + face[3]) / 2 - crop_side / 2))
            y = int(round((face[0] + face[2]) / 2 - crop_side / 2))
            crop = padded[y + pad:y + pad + crop_side, x + pad:x + pad + crop_side]
            interp = cv2.INTER_AREA if crop_side > INPUT_SIDE else cv2.INTER_LINEAR
            view = cv2.resize(crop, (INPUT_SIDE, INPUT_SIDE), interpolation=interp)
            dets = _to_frame(self.predict(view[None])[0], (x, y, crop_side, 0), canvas.shape[:2])
            if len(dets):
                best = int(np.argmax(box_iou_matrix(face[None, :4], dets[:, :4])[0]))
                if box_iou_matrix(face[None, :4], dets[best:best + 1, :4])[0, 0] > 0.3:
                    out[i, :16] = dets[best, :16]
        return out


def _to_frame(dets: np.ndarray, place: Sequence[int], image_hw: Tuple[int, int]) -> np.ndarray:
    """Map a view's detections to frame pixels (columns stay ymin, xmin, ymax, xmax, ...).

    Detections from a tile that touch a tile edge inside the frame are dropped: they are cut-off
    parts of a face that a coarser view or a neighbouring tile sees whole."""
    x, y, side, level = place
    if len(dets) == 0:
        return dets
    offset = np.array([y, x, y, x] + [x, y] * 6, np.float32)
    out = dets.copy()
    out[:, :16] = dets[:, :16] * side + offset
    if level == 0:
        return out
    height, width = image_hw
    margin = 0.02 * side
    cut = (((out[:, 1] < x + margin) & (x > 0)) | ((out[:, 0] < y + margin) & (y > 0))
           | ((out[:, 3] > x + side - margin) & (x + side < width))
           | ((out[:, 2] > y + side - margin) & (y + side < height)))
    return out[~cut]
