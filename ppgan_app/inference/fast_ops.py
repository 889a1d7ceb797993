"""Export-time reformulations of the FOMM networks' small tensor ops.

With oneDNN, elementwise ops that broadcast over several dimensions are slow (tens of ms
on 2 cores for tensors of ~10^5 elements) and Paddle's CPU ``grid_sample`` is slow for
many channels. These layers compute the same values with matmuls, separable gaussians and
row gathers; they wrap the original sublayers (same weights) and are used only on the
rewritten copy that is exported (:mod:`ppgan_app.inference.rewrites`). The dygraph networks
stay the reference; the engine tests check fast == dygraph.

Symbols: N batch, K keypoints, C channels, h/w spatial size, ``hw = h*w``.
"""
from __future__ import annotations

import types
from typing import Dict, Mapping

import numpy as np
import paddle
import paddle.nn.functional as F
from paddle import nn

from ppgan_app.models.firstorder.blocks import invert_2x2, make_coordinate_grid

KeyPoints = Mapping[str, paddle.Tensor]
ROW_GATHER_MIN_CHANNELS = 16     # below this Paddle's grid_sample is faster


def _gather_corner(rows: paddle.Tensor, base: paddle.Tensor, xi: paddle.Tensor, yi: paddle.Tensor,
                   weight: paddle.Tensor, h: int, w: int) -> paddle.Tensor:
    """``weight * rows[base + yi*w + xi]`` with zero weight outside the image; ``[N*h'*w', C]``."""
    inside = ((xi >= 0) & (xi <= w - 1) & (yi >= 0) & (yi <= h - 1)).astype(rows.dtype)
    index = base + paddle.clip(yi, 0, h - 1) * w + paddle.clip(xi, 0, w - 1)
    picked = paddle.gather(rows, index.astype("int64").reshape([-1]))
    return picked * (weight * inside).reshape([-1, 1])


def grid_sample_rows(x: paddle.Tensor, grid: paddle.Tensor) -> paddle.Tensor:
    """Bilinear sampling, zero padding, ``align_corners=True``, by gathering channel rows.

    Args:
        x: ``[N, C, H, W]``.
        grid: ``[N, h, w, 2]`` positions (x, y) in [-1, 1].
    Returns:
        ``[N, C, h, w]``, equal to ``F.grid_sample(x, grid, align_corners=True)``.

    The fractional part is taken with ``remainder``: in Paddle Inference 3.3 the inplace pass
    corrupts ``x - floor(x)`` (``floor`` overwrites its still-needed input).
    """
    n, c, h, w = x.shape
    _, gh, gw, _ = grid.shape
    px = (grid[:, :, :, 0] + 1) * (0.5 * (w - 1))
    py = (grid[:, :, :, 1] + 1) * (0.5 * (h - 1))
    one = paddle.full([1], 1.0, dtype=x.dtype)
    fx = paddle.remainder(px, one)
    fy = paddle.remainder(py, one)
    x0, y0 = px - fx, py - fy
    x1, y1 = x0 + 1, y0 + 1
    rows = x.transpose([0, 2, 3, 1]).reshape([-1, c])                  # [N*H*W, C]
    base = (paddle.arange(n, dtype=x.dtype) * (h * w)).reshape([n, 1, 1])
    out = (_gather_corner(rows, base, x0, y0, (1 - fx) * (1 - fy), h, w)
           + _gather_corner(rows, base, x1, y0, fx * (1 - fy), h, w)
           + _gather_corner(rows, base, x0, y1, (1 - fx) * fy, h, w)
           + _gather_corner(rows, base, x1, y1, fx * fy, h, w))
    return out.reshape([n, gh, gw, c]).transpose([0, 3, 1, 2])


def sample(x: paddle.Tensor, grid: paddle.Tensor) -> paddle.Tensor:
    """Bilinear ``align_corners=True`` sampling with the faster kernel for ``x``'s width."""
    if x.shape[1] >= ROW_GATHER_MIN_CHANNELS:
        return grid_sample_rows(x, grid)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def separable_gaussians(value: paddle.Tensor, h: int, w: int, variance: float) -> paddle.Tensor:
    """``exp(-|z - kp|^2 / (2 variance))`` on the coordinate grid as an outer product.

    Args:
        value: keypoints ``[N, K, 2]`` (x, y) in [-1, 1].
    Returns:
        ``[N, K, h, w]``.
    """
    grid = make_coordinate_grid((h, w), value.dtype)
    xs = grid[0, :, 0].reshape([1, 1, w])
    ys = grid[:, 0, 1].reshape([1, 1, h])
    # one-sided broadcasting only: Paddle Inference 3.3 returns garbage for a binary op
    # whose operands both broadcast ([1,1,w] - [N,K,1]) when the batch size is dynamic
    gauss_x = paddle.exp((value[:, :, 0:1].expand([-1, -1, w]) - xs) ** 2 * (-0.5 / variance))
    gauss_y = paddle.exp((value[:, :, 1:2].expand([-1, -1, h]) - ys) ** 2 * (-0.5 / variance))
    return paddle.matmul(gauss_y.unsqueeze(-1), gauss_x.unsqueeze(-2))    # [N,K,h,w]


class FastKPDetector(nn.Layer):
    """A ``KPDetector``'s forward with matmul reductions; returns ``(value, jacobian|None)``.

    ``value [N,K,2]`` = heatmap-weighted mean of the coordinate grid; ``jacobian [N,K,2,2]`` =
    heatmap-weighted sum of the jacobian maps.
    """

    def __init__(self, kp_detector: nn.Layer) -> None:
        super().__init__()
        self.net = kp_detector

    def forward(self, x: paddle.Tensor):
        net = self.net
        if net.scale_factor != 1:
            x = net.down(x)
        feature_map = net.predictor(x)
        prediction = net.kp(feature_map)
        _, k, h, w = prediction.shape
        heatmap = F.softmax(prediction.reshape([-1, k, h * w]) / net.temperature, axis=2)
        grid = make_coordinate_grid((h, w), heatmap.dtype).reshape([h * w, 2])
        value = paddle.matmul(heatmap, grid)                                # [N,K,2]
        if net.jacobian is None:
            return value, None
        maps = net.jacobian(feature_map).reshape([-1, net.num_jacobian_maps, 4, h * w])
        jacobian = paddle.matmul(maps, heatmap.unsqueeze(-1))               # [N,K,4,1]
        return value, jacobian.reshape([-1, k, 2, 2])


class FastDenseMotion(nn.Layer):
    """A ``DenseMotionNetwork`` (same sublayers) with cheaper small-tensor maths.

    Forward and outputs as the original: ``sparse_deformed``, ``mask``, ``deformation``
    ``[N,h,w,2]`` and ``occlusion_map`` (if estimated).
    """

    def __init__(self, dense_motion: nn.Layer) -> None:
        super().__init__()
        self.net = dense_motion

    def sparse_motions(self, h: int, w: int, kp_driving: KeyPoints,
                       kp_source: KeyPoints) -> paddle.Tensor:
        """``z -> kp_s + J (z - kp_d)``, identity first: ``[N, K+1, hw, 2]``.

        One matmul in homogeneous coordinates: ``[z, 1] @ [J | kp_s - J kp_d]^T`` (a separate
        broadcast add after the matmul becomes a slow fused oneDNN post-op).
        """
        dtype = kp_source["value"].dtype
        identity = make_coordinate_grid((h, w), dtype).reshape([h * w, 2])
        homogeneous = paddle.concat([identity, paddle.ones([h * w, 1], dtype)], axis=1)
        kp_d = kp_driving["value"].unsqueeze(-1)                            # [N,K,2,1]
        kp_s = kp_source["value"].unsqueeze(-1)
        if "jacobian" in kp_driving:
            jacobian = paddle.matmul(kp_source["jacobian"], invert_2x2(kp_driving["jacobian"]))
        else:
            jacobian = paddle.zeros_like(kp_d).expand([-1, -1, 2, 2]) + paddle.eye(2, dtype=dtype)
        affine = paddle.concat([jacobian, kp_s - paddle.matmul(jacobian, kp_d)], axis=-1)
        driving_to_source = paddle.matmul(homogeneous.reshape([1, 1, h * w, 3]), affine,
                                          transpose_y=True)                  # [N,K,hw,2]
        # batch-sized copy of the identity by broadcasting (expand with a dynamic batch
        # size would keep the exported graph's batch at 1)
        background = (paddle.zeros_like(driving_to_source[:, :1])
                      + identity.reshape([1, 1, h * w, 2]))
        return paddle.concat([background, driving_to_source], axis=1)

    def forward(self, source_image: paddle.Tensor, kp_driving: KeyPoints,
                kp_source: KeyPoints) -> Dict[str, paddle.Tensor]:
        net = self.net
        if net.scale_factor != 1:
            source_image = net.down(source_image)
        _, c, h, w = source_image.shape
        k1 = net.num_kp + 1
        heatmap = (separable_gaussians(kp_driving["value"], h, w, net.kp_variance)
                   - separable_gaussians(kp_source["value"], h, w, net.kp_variance))
        heatmap = paddle.concat([paddle.zeros_like(heatmap[:, :1]), heatmap], axis=1)
        motions = self.sparse_motions(h, w, kp_driving, kp_source)          # [N,K+1,hw,2]
        repeated = source_image.unsqueeze(1).expand([-1, k1, c, h, w]).reshape([-1, c, h, w])
        deformed = F.grid_sample(repeated, motions.reshape([-1, h, w, 2]), mode="bilinear",
                                 padding_mode="zeros", align_corners=True)
        deformed = deformed.reshape([-1, k1, c, h, w])
        features = paddle.concat([heatmap.unsqueeze(2), deformed], axis=2)
        prediction = net.hourglass(features.reshape([-1, k1 * (c + 1), h, w]))
        mask = F.softmax(net.mask(prediction), axis=1)                     # [N,K+1,h,w]
        weights = mask.reshape([-1, k1, h * w])
        deformation = paddle.stack([(motions[:, :, :, 0] * weights).sum(1),
                                    (motions[:, :, :, 1] * weights).sum(1)], axis=-1)
        out = {"sparse_deformed": deformed, "mask": mask,
               "deformation": deformation.reshape([-1, h, w, 2])}
        if net.occlusion is not None:
            out["occlusion_map"] = F.sigmoid(net.occlusion(prediction))
        return out


def bilinear_matrix(size_out: int, size_in: int) -> np.ndarray:
    """``[size_out, size_in]`` weights of Paddle's bilinear resize along one axis
    (``align_corners=False``, ``align_mode=0``): ``src = (dst + 0.5) * in / out - 0.5``,
    clamped at 0, neighbours clamped at the last row."""
    matrix = np.zeros((size_out, size_in), np.float32)
    for dst in range(size_out):
        src = max((dst + 0.5) * size_in / size_out - 0.5, 0.0)
        low = min(int(src), size_in - 1)
        frac = src - low
        matrix[dst, low] += 1.0 - frac
        matrix[dst, min(low + 1, size_in - 1)] += frac
    return matrix


def resize_bilinear(x: paddle.Tensor, h: int, w: int) -> paddle.Tensor:
    """``F.interpolate(x, size=(h, w), mode="bilinear")`` for ``x [N, C, H, W]`` of static
    size, as two matmuls (oneDNN in Paddle Inference rejects interpolate's attributes)."""
    rows = paddle.to_tensor(bilinear_matrix(h, int(x.shape[2])))
    cols = paddle.to_tensor(bilinear_matrix(w, int(x.shape[3])))
    return paddle.matmul(paddle.matmul(rows, x), cols, transpose_y=True)


def fast_fit_occlusion(generator: nn.Layer, occlusion_map: paddle.Tensor, h: int,
                       w: int) -> paddle.Tensor:
    """The generator's ``_fit_occlusion`` with :func:`resize_bilinear`."""
    from ppgan_app.models.firstorder.generator import border_frame_mask

    if tuple(occlusion_map.shape[2:]) != (h, w):
        occlusion_map = resize_bilinear(occlusion_map, h, w)
    if generator.inference and not generator.mobile_net:
        frame = paddle.to_tensor(border_frame_mask(h, w, generator.pad)).reshape([1, 1, h, w])
        occlusion_map = occlusion_map * (1 - frame) + frame
    return occlusion_map


def fast_deform_input(generator: nn.Layer, inp: paddle.Tensor,
                      deformation: paddle.Tensor) -> paddle.Tensor:
    """The generator's ``deform_input`` with the row-gather sampler for wide inputs.

    Same steps as ``OcclusionAwareGenerator.deform_input``: resize the deformation to the
    input size, blend it to the identity at the border in inference mode, sample.
    """
    from ppgan_app.models.firstorder.generator import border_blend_weights

    _, h_old, w_old, _ = deformation.shape
    _, _, h, w = inp.shape
    if (h_old, w_old) != (h, w):
        deformation = resize_bilinear(deformation.transpose([0, 3, 1, 2]), h, w
                                      ).transpose([0, 2, 3, 1])
    if generator.inference:
        identity = make_coordinate_grid((h, w), inp.dtype).unsqueeze(0)
        blend = paddle.to_tensor(border_blend_weights(h, w, generator.pad)).reshape([1, h, w, 1])
        deformation = blend * deformation + (1 - blend) * identity
    return sample(inp, deformation)


def use_fast_deform_input(generator: nn.Layer) -> nn.Layer:
    """Bind :func:`fast_deform_input` as ``generator.deform_input`` (on an export copy)."""
    generator.deform_input = types.MethodType(fast_deform_input, generator)
    generator._fit_occlusion = types.MethodType(fast_fit_occlusion, generator)
    return generator
