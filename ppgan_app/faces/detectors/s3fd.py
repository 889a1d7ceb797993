"""S3FD (Zhang et al., 2017), PaddleGAN's default face detector, on PaddleGAN's weights.

The network keeps PaddleGAN's attribute names, so ``s3fd_paddle.pdparams`` (22.5 M parameters)
loads unchanged. Post-processing follows PaddleGAN's ``sfd`` detector: the image is fed as BGR
minus the mean (104, 117, 123); each of the six heads (strides 4 to 128, square anchors of 4x
the stride) proposes boxes where the face probability exceeds 0.05, decoded with variances
(0.1, 0.2); non-maximum suppression at IoU 0.3; faces scoring above 0.5 are kept.
"""
from __future__ import annotations

import logging
from typing import List, Optional

import numpy as np

from ppgan_app.faces.detectors.base import (clip_faces, no_faces, sort_largest_first,
                                            working_copy)

logger = logging.getLogger(__name__)

#: BGR channel means subtracted from the input (Caffe VGG16 convention).
BGR_MEAN = (104.0, 117.0, 123.0)
#: Face probability above which a head position becomes a candidate box.
CANDIDATE_SCORE = 0.05
#: IoU above which a lower-scored candidate is suppressed.
NMS_IOU = 0.3
#: Final score threshold.
KEEP_SCORE = 0.5
#: Box decoding variances (centre, size).
VARIANCES = (0.1, 0.2)


def build_s3fd_net():
    """The S3FD network (a ``paddle.nn.Layer``; built on demand so paddle loads lazily)."""
    import paddle
    import paddle.nn as nn
    import paddle.nn.functional as F

    class L2Norm(nn.Layer):
        """Channel-wise L2 normalisation with a learnt per-channel scale (initialised to ``scale``)."""

        def __init__(self, channels: int, scale: float) -> None:
            super().__init__()
            self.weight = self.create_parameter(
                [channels], default_initializer=nn.initializer.Constant(scale))

        def forward(self, x):
            norm = x.pow(2).sum(axis=1, keepdim=True).sqrt() + 1e-10
            return x / norm * self.weight.reshape([1, -1, 1, 1])

    def conv(cin: int, cout: int, kernel: int = 3, stride: int = 1, pad: int = 1):
        return nn.Conv2D(cin, cout, kernel, stride=stride, padding=pad)

    class S3FDNet(nn.Layer):
        """VGG16 trunk + extra layers + six (confidence, location) heads.

        Input ``[N,3,H,W] float32`` BGR minus :data:`BGR_MEAN`; output the list
        ``[conf_1, loc_1, ..., conf_6, loc_6]``, ``conf_i [N,2,H/s,W/s]`` logits (background,
        face) and ``loc_i [N,4,H/s,W/s]`` offsets at strides ``s = 4, 8, ..., 128``.
        """

        _VGG = [("conv1_1", 3, 64), ("conv1_2", 64, 64), ("conv2_1", 64, 128),
                ("conv2_2", 128, 128), ("conv3_1", 128, 256), ("conv3_2", 256, 256),
                ("conv3_3", 256, 256), ("conv4_1", 256, 512), ("conv4_2", 512, 512),
                ("conv4_3", 512, 512), ("conv5_1", 512, 512), ("conv5_2", 512, 512),
                ("conv5_3", 512, 512)]
        #: (feature name, channels, confidence channels) of the six heads, finest first.
        _HEADS = [("conv3_3_norm", 256, 4), ("conv4_3_norm", 512, 2), ("conv5_3_norm", 512, 2),
                  ("fc7", 1024, 2), ("conv6_2", 512, 2), ("conv7_2", 256, 2)]

        def __init__(self) -> None:
            super().__init__()
            for name, cin, cout in self._VGG:
                setattr(self, name, conv(cin, cout))
            self.fc6 = conv(512, 1024, pad=3)
            self.fc7 = conv(1024, 1024, kernel=1, pad=0)
            self.conv6_1 = conv(1024, 256, kernel=1, pad=0)
            self.conv6_2 = conv(256, 512, stride=2)
            self.conv7_1 = conv(512, 128, kernel=1, pad=0)
            self.conv7_2 = conv(128, 256, stride=2)
            self.conv3_3_norm = L2Norm(256, 10.0)
            self.conv4_3_norm = L2Norm(512, 8.0)
            self.conv5_3_norm = L2Norm(512, 5.0)
            for name, channels, conf in self._HEADS:
                setattr(self, f"{name}_mbox_conf", conv(channels, conf))
                setattr(self, f"{name}_mbox_loc", conv(channels, 4))

        def _stage(self, h, names: List[str], pool: bool):
            for name in names:
                h = F.relu(getattr(self, name)(h))
            return h, (F.max_pool2d(h, 2, 2) if pool else h)

        def forward(self, x):
            _, h = self._stage(x, ["conv1_1", "conv1_2"], True)
            _, h = self._stage(h, ["conv2_1", "conv2_2"], True)
            f3, h = self._stage(h, ["conv3_1", "conv3_2", "conv3_3"], True)
            f4, h = self._stage(h, ["conv4_1", "conv4_2", "conv4_3"], True)
            f5, h = self._stage(h, ["conv5_1", "conv5_2", "conv5_3"], True)
            f7, _ = self._stage(h, ["fc6", "fc7"], False)
            f6_2, _ = self._stage(f7, ["conv6_1", "conv6_2"], False)
            f7_2, _ = self._stage(f6_2, ["conv7_1", "conv7_2"], False)
            features = [self.conv3_3_norm(f3), self.conv4_3_norm(f4), self.conv5_3_norm(f5),
                        f7, f6_2, f7_2]
            outputs = []
            for (name, _, _), feat in zip(self._HEADS, features):
                outputs += [getattr(self, f"{name}_mbox_conf")(feat),
                            getattr(self, f"{name}_mbox_loc")(feat)]
            # the finest head scores 3 background channels: keep their maximum
            conf = outputs[0]
            outputs[0] = paddle.concat([conf[:, :3].max(axis=1, keepdim=True), conf[:, 3:]], 1)
            return outputs

    return S3FDNet()


def _softmax_face(conf: np.ndarray) -> np.ndarray:
    """Face probability ``[H,W]`` from two-class logits ``[2,H,W]``."""
    shifted = conf - conf.max(axis=0, keepdims=True)
    exp = np.exp(shifted)
    return exp[1] / exp.sum(axis=0)


def decode_heads(outputs: List[np.ndarray]) -> np.ndarray:
    """Candidate boxes of one image from the six heads' outputs.

    Args:
        outputs: ``[conf_1, loc_1, ...]`` as from the network, batch entry taken: ``conf_i
            [2,h,w]``, ``loc_i [4,h,w]`` float32.

    Returns:
        ``[K,5] float32`` ``(x1, y1, x2, y2, score)`` in network-input pixels, head by head,
        positions in row-major order.
    """
    rows = []
    for level in range(len(outputs) // 2):
        score = _softmax_face(outputs[2 * level].astype(np.float32))
        loc = outputs[2 * level + 1]
        stride = 2 ** (level + 2)
        anchor = 4.0 * stride
        ys, xs = np.nonzero(score > CANDIDATE_SCORE)
        if len(ys) == 0:
            continue
        offsets = loc[:, ys, xs].T.astype(np.float32)  # [k,4]
        cx = stride / 2 + xs * stride + offsets[:, 0] * VARIANCES[0] * anchor
        cy = stride / 2 + ys * stride + offsets[:, 1] * VARIANCES[0] * anchor
        w = anchor * np.exp(offsets[:, 2] * VARIANCES[1])
        h = anchor * np.exp(offsets[:, 3] * VARIANCES[1])
        x1, y1 = cx - w / 2, cy - h / 2
        rows.append(np.stack([x1, y1, x1 + w, y1 + h, score[ys, xs]], axis=1))
    return np.concatenate(rows).astype(np.float32) if rows else no_faces()


def nms(dets: np.ndarray, threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression (pixel-inclusive areas, ``+1``) → kept row indices."""
    if len(dets) == 0:
        return np.zeros(0, np.int64)
    x1, y1, x2, y2, scores = (dets[:, i] for i in range(5))
    areas = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = scores.argsort()[::-1]
    keep = []
    while order.size > 0:
        first, rest = order[0], order[1:]
        keep.append(first)
        w = np.maximum(0.0, np.minimum(x2[first], x2[rest]) - np.maximum(x1[first], x1[rest]) + 1)
        h = np.maximum(0.0, np.minimum(y2[first], y2[rest]) - np.maximum(y1[first], y1[rest]) + 1)
        overlap = w * h / (areas[first] + areas[rest] - w * h)
        order = rest[overlap <= threshold]
    return np.asarray(keep, np.int64)


def select_faces(candidates: np.ndarray) -> np.ndarray:
    """PaddleGAN's selection: NMS at :data:`NMS_IOU`, then score > :data:`KEEP_SCORE`.
    Rows stay in descending score order."""
    kept = candidates[nms(candidates, NMS_IOU)]
    return kept[kept[:, 4] > KEEP_SCORE]


class S3FDDetector:
    """S3FD face detector on PaddleGAN's ``s3fd_paddle.pdparams``.

    Args:
        weight_path: weights file or known name (default ``s3fd``, downloaded once and cached).
        net: an already built network with weights (tests pass a seeded random one).
        max_side: images are shrunk to this longest side first (S3FD's cost grows with pixels).

    Raises:
        WeightsUnavailableError: the weights are neither cached nor downloadable.
        CheckpointError: the file does not hold S3FD weights.
    """

    def __init__(self, weight_path: Optional[str] = None, net=None, max_side: int = 640) -> None:
        if net is None:
            from ppgan_app.faces.detectors.weights import load_net_weights, resolve_detector_file

            path = resolve_detector_file(weight_path or "s3fd", "--face_detector sfd")
            net = build_s3fd_net()  # after the weights are found: 22.5 M parameters
            load_net_weights(net, str(path), "--face_detector sfd")
        net.eval()
        self.net = net
        self.max_side = max_side

    def raw_outputs(self, image_bgr: np.ndarray) -> List[np.ndarray]:
        """The six heads' outputs for one ``[H,W,3]`` BGR image (batch entry taken)."""
        import paddle

        x = (image_bgr.astype(np.float32) - np.array(BGR_MEAN, np.float32)).transpose(2, 0, 1)
        with paddle.no_grad():
            outputs = self.net(paddle.to_tensor(x[None]))
        return [o.numpy()[0] for o in outputs]

    def detect_bgr(self, image_bgr: np.ndarray) -> np.ndarray:
        """PaddleGAN's detection on a BGR image at its own size: ``[K,5]`` by descending score."""
        return select_faces(decode_heads(self.raw_outputs(image_bgr)))

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Faces ``[K,5] float32`` in ``image [H,W,3] uint8`` RGB, largest first."""
        work, scale = working_copy(image, self.max_side)
        faces = self.detect_bgr(np.ascontiguousarray(work[..., ::-1]))
        faces[:, :4] /= scale
        return sort_largest_first(clip_faces(faces, image.shape[:2]))


def randomize_s3fd_weights(net, seed: int = 0, head_gain: float = 40.0) -> None:
    """Seeded random weights for tests and benchmarks without the published file.

    Kernels ~ N(0, 1/fan_in), biases ~ N(0, 0.1), L2Norm scales in [0.8, 1.2]; the confidence
    heads' kernels are multiplied by ``head_gain`` so face probabilities spread over (0, 1)
    instead of sitting at 0.5 (near-ties would make the NMS order arbitrary).
    """
    rng = np.random.default_rng(seed)
    for key, value in net.state_dict().items():
        shape = list(value.shape)
        if len(shape) == 4:
            new = rng.normal(0.0, 1.0 / np.sqrt(np.prod(shape[1:])), shape)
            if "_mbox_conf" in key:
                new *= head_gain
        elif key.endswith("norm.weight"):
            new = rng.uniform(0.8, 1.2, shape)
        else:
            new = rng.normal(0.0, 0.1, shape)
        value.set_value(new.astype("float32"))
