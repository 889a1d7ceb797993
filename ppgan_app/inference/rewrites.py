"""Exact graph rewrites applied to a copy of the networks before export.

``DenseMotionNetwork`` is wrapped by :class:`~ppgan_app.inference.fast_ops.FastDenseMotion`
(same sublayers, cheaper small-tensor maths).

``upsample_conv_to_deconv``: an up block ``relu(norm(conv3x3(nearest_up2(x))))`` becomes
``relu(norm(deconv4x4_stride2(x)))``. Along each axis, output row ``2i`` of the 3-tap conv on the
upsampled input sees input rows ``i-1, i, i`` and row ``2i+1`` sees ``i, i, i+1``; a stride-2
transposed conv with the 4-tap kernel ``[k1, k0+k1, k-1+k0, k-1]`` (taps ``k-1, k0, k1``) and
padding 1 computes exactly that. It needs 16/36 of the multiply-adds, never materialises the
upsampled tensor, and removes the interpolation op that oneDNN cannot run under PIR.

``PhaseUpBlock``: the mobile up block ``relu(norm1(conv1x1(relu(norm(dw3x3(nearest_up2(x)))))))``
runs at the input resolution: each of the four output phases (row parity a, column parity b)
of the 3-tap conv on the upsampled input is a 3-tap conv on the input, with taps
``[k-1, k0+k1, 0]`` (even) or ``[0, k-1+k0, k1]`` (odd). Four depthwise convs compute the
phases, the 1x1 conv runs on each phase (one grouped conv), and a transpose interleaves the
phases of the (narrower) output; the nearest upsample copy disappears.

``ChannelAffine``: the pre-activation batch norm of a residual block (``norm1``, applied to the
block's input, so no conv before it to fold it into) becomes a depthwise 1x1 conv with the
norm's per-channel scale as weight and its shift as bias. oneDNN runs its batch norm on a plain
NCHW tensor with a reference kernel; the depthwise conv stays in the convs' blocked layout and
takes the following ReLU as a post-op.

``SeparableAntiAlias``: the anti-aliased downsampling (pad, depthwise Gaussian conv at full
resolution, then row and column picks) becomes two matrix products, ``A @ x @ B``: the Gaussian is
separable, so each kept row ``r`` is the 1-D kernel placed at the picked row (``A[r]``, zero
padding as clipped taps), and likewise for columns. Only the kept outputs are computed.
"""
from __future__ import annotations

import copy
import logging
from typing import Callable

import numpy as np
import paddle
import paddle.nn.functional as F
from paddle import nn

from ppgan_app.inference.fast_ops import FastDenseMotion

LOG = logging.getLogger(__name__)

# Rows: taps of the 4-tap transposed kernel; columns: taps (-1, 0, +1) of the 3x3 conv.
_UP2_TAPS = np.array([[0, 0, 1], [0, 1, 1], [1, 1, 0], [1, 0, 0]], dtype=np.float64)


def deconv_kernel_from_up2_conv(weight: np.ndarray) -> np.ndarray:
    """Transposed-conv kernel equal to "nearest x2 upsample, then 3x3 conv (padding 1)".

    Args:
        weight: conv kernel ``[C_out, C_in, 3, 3]``.

    Returns:
        ``[C_in, C_out, 4, 4]`` float32 kernel for ``conv2d_transpose(stride=2, padding=1)``.
    """
    if weight.ndim != 4 or weight.shape[2:] != (3, 3):
        raise ValueError(f"expected a [C_out, C_in, 3, 3] kernel, got {weight.shape}")
    kernel = np.einsum("ak,oikl,bl->ioab", _UP2_TAPS, weight.astype(np.float64), _UP2_TAPS)
    return kernel.astype(np.float32)


# Per output phase (even, odd): rows = taps (-1, 0, +1) at the input resolution, columns = taps
# (-1, 0, +1) of the 3x3 conv on the nearest-x2 upsampled input.
_PHASE_TAPS = np.array([[[1, 0, 0], [0, 1, 1], [0, 0, 0]],
                        [[0, 0, 0], [1, 1, 0], [0, 0, 1]]], dtype=np.float64)


def phase_kernels_from_up2_dwconv(weight: np.ndarray) -> np.ndarray:
    """Depthwise kernels equal to "nearest x2 upsample, then depthwise 3x3 conv", per phase.

    Args:
        weight: depthwise kernel ``[C, 1, 3, 3]``.

    Returns:
        ``[4C, 1, 3, 3]`` float64 kernel for ``conv2d(groups=C, padding=1)``; output channel
        ``4c + 2a + b`` is the phase (row parity a, column parity b) of channel c.
    """
    if weight.ndim != 4 or weight.shape[1:] != (1, 3, 3):
        raise ValueError(f"expected a [C, 1, 3, 3] depthwise kernel, got {weight.shape}")
    # out[c, a, b] = P_a @ K_c @ P_b^T (rows: taps at the input resolution)
    kernel = np.einsum("akm,cmn,bln->cabkl", _PHASE_TAPS, weight[:, 0].astype(np.float64),
                       _PHASE_TAPS)
    return kernel.reshape(4 * weight.shape[0], 1, 3, 3)


def batch_norm_affine(norm: nn.Layer) -> tuple[np.ndarray, np.ndarray] | None:
    """``(scale, shift)`` with ``norm(x) = x * scale + shift`` per channel (eval mode), or None.

    None when ``norm`` is not a Paddle batch norm with running statistics.
    """
    if not isinstance(norm, nn.layer.norm._BatchNormBase) or norm.weight is None:
        return None
    variance = norm._variance.numpy().astype(np.float64)
    scale = norm.weight.numpy().astype(np.float64) / np.sqrt(variance + float(norm._epsilon))
    shift = norm.bias.numpy().astype(np.float64) - norm._mean.numpy().astype(np.float64) * scale
    return scale, shift


class DeconvUpBlock(nn.Layer):
    """``relu(norm(conv(nearest_up2(x))))`` computed as ``relu(deconv(x))``.

    The batch norm (eval mode: a per-channel affine map) is folded into the transposed
    conv's kernel and bias; an unknown norm layer is kept as a separate step.

    Args:
        block: an up block with ``conv`` (3x3, stride 1, padding 1, groups 1) and ``norm``.

    Shapes: ``[N,C_in,H,W]`` -> ``[N,C_out,2H,2W]``.
    """

    def __init__(self, block: nn.Layer) -> None:
        super().__init__()
        weight = block.conv.weight.numpy()
        c_out, c_in = weight.shape[:2]
        kernel = deconv_kernel_from_up2_conv(weight).astype(np.float64)   # [C_in, C_out, 4, 4]
        bias = (block.conv.bias.numpy().astype(np.float64) if block.conv.bias is not None
                else np.zeros(c_out))
        affine = batch_norm_affine(block.norm)
        self.norm = None if affine is not None else block.norm
        if affine is not None:
            kernel = kernel * affine[0].reshape(1, -1, 1, 1)
            bias = bias * affine[0] + affine[1]
        self.deconv = nn.Conv2DTranspose(c_in, c_out, kernel_size=4, stride=2, padding=1)
        self.deconv.weight.set_value(kernel.astype(np.float32))
        self.deconv.bias.set_value(bias.astype(np.float32))

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        out = self.deconv(x)
        if self.norm is not None:
            out = self.norm(out)
        return F.relu(out)


class PhaseUpBlock(nn.Layer):
    """A mobile up block computed at the input resolution, phase by phase (see the module doc).

    ``relu(norm1(conv1(relu(norm(dw3x3(nearest_up2(x)))))))`` becomes: four depthwise convs
    (one per output phase, ``norm`` folded in) concatenated phase-major, one 1x1 conv with
    four groups sharing ``conv1``'s weights (``norm1`` folded in), then the phases of the
    ``C_out`` output channels are interleaved. Measured on 2 cores this beats a single
    four-output depthwise conv + pixel shuffle (which interleaves the wider ``C_in`` tensor)
    and a depthwise transposed conv (no fast oneDNN kernel).

    Args:
        block: a mobile up block with ``conv`` (depthwise 3x3, padding 1), ``norm``, ``conv1``
            (1x1, groups 1) and ``norm1`` (batch norms with running statistics).

    Shapes: ``[N,C_in,H,W]`` -> ``[N,C_out,2H,2W]``.
    """

    def __init__(self, block: nn.Layer) -> None:
        super().__init__()
        weight = block.conv.weight.numpy()
        channels = weight.shape[0]
        kernel = phase_kernels_from_up2_dwconv(weight).reshape(channels, 4, 1, 3, 3)
        bias = (block.conv.bias.numpy().astype(np.float64) if block.conv.bias is not None
                else np.zeros(channels))
        scale, shift = _required_affine(block.norm)
        kernel = kernel * scale.reshape(-1, 1, 1, 1, 1)
        bias = bias * scale + shift
        self.phases = nn.LayerList()
        for phase in range(4):
            conv = nn.Conv2D(channels, channels, 3, padding=1, groups=channels)
            conv.weight.set_value(kernel[:, phase].astype(np.float32))
            conv.bias.set_value(bias.astype(np.float32))
            self.phases.append(conv)
        pw_weight = block.conv1.weight.numpy().astype(np.float64)          # [C_out, C_in, 1, 1]
        pw_bias = (block.conv1.bias.numpy().astype(np.float64) if block.conv1.bias is not None
                   else np.zeros(pw_weight.shape[0]))
        scale1, shift1 = _required_affine(block.norm1)
        pw_weight = pw_weight * scale1.reshape(-1, 1, 1, 1)
        pw_bias = pw_bias * scale1 + shift1
        self.out_channels = int(pw_weight.shape[0])
        self.pointwise = nn.Conv2D(4 * channels, 4 * self.out_channels, 1, groups=4)
        self.pointwise.weight.set_value(np.tile(pw_weight, (4, 1, 1, 1)).astype(np.float32))
        self.pointwise.bias.set_value(np.tile(pw_bias, 4).astype(np.float32))

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        phases = paddle.concat([F.relu(conv(x)) for conv in self.phases], axis=1)  # [N,4C,H,W]
        return interleave_phases(F.relu(self.pointwise(phases)), self.out_channels)


class ChannelAffine(nn.Layer):
    """An eval-mode batch norm as a depthwise 1x1 conv: ``x * scale + shift`` per channel.

    Args:
        norm: a batch norm with running statistics.

    Shapes: ``[N,C,H,W]`` -> ``[N,C,H,W]``.
    """

    def __init__(self, norm: nn.Layer) -> None:
        super().__init__()
        scale, shift = _required_affine(norm)
        channels = scale.shape[0]
        self.conv = nn.Conv2D(channels, channels, 1, groups=channels)
        self.conv.weight.set_value(scale.reshape(channels, 1, 1, 1).astype(np.float32))
        self.conv.bias.set_value(shift.astype(np.float32))

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return self.conv(x)


def with_affine_preactivation(block: nn.Layer) -> nn.Layer:
    """``block`` (a residual block of the export's copy) with ``norm1`` as a :class:`ChannelAffine`."""
    block.norm1 = ChannelAffine(block.norm1)
    return block


def separable_taps(weight: np.ndarray, tolerance: float = 1e-6) -> np.ndarray | None:
    """The 1-D taps ``k`` with ``weight[c, 0] == outer(k, k)`` for every channel, or None.

    Args:
        weight: depthwise kernel ``[C, 1, K, K]`` (the anti-alias Gaussian).
        tolerance: largest difference allowed, relative to the kernel's largest tap.
    """
    if weight.ndim != 4 or weight.shape[1] != 1 or weight.shape[2] != weight.shape[3]:
        return None
    kernel = weight[0, 0].astype(np.float64)
    taps = kernel.sum(axis=1)
    limit = tolerance * np.abs(kernel).max()
    if (np.abs(weight[:, 0] - kernel).max() > limit
            or np.abs(np.outer(taps, taps) - kernel).max() > limit):
        return None
    return taps


def banded_picks(picks: np.ndarray, size: int, taps: np.ndarray, before: int) -> np.ndarray:
    """``[len(picks), size]``: row ``r`` holds ``taps`` centred so that tap ``i`` reads input
    ``picks[r] + i - before`` (taps falling outside ``0..size-1`` read zero padding)."""
    matrix = np.zeros((len(picks), size), dtype=np.float64)
    for row, pick in enumerate(picks):
        for i, tap in enumerate(taps):
            source = int(pick) + i - before
            if 0 <= source < size:
                matrix[row, source] = tap
    return matrix


class SeparableAntiAlias(nn.Layer):
    """``AntiAliasInterpolation2d`` as ``A @ x @ B`` (see the module doc).

    Args:
        layer: an anti-alias layer with a separable kernel (:func:`separable_taps`).

    Shapes: ``[N,C,H,W]`` -> ``[N,C,int(H*scale),int(W*scale)]`` (H, W static at export).
    """

    def __init__(self, layer: nn.Layer) -> None:
        super().__init__()
        self.scale = layer.scale
        self.before = layer.ka
        self.taps = separable_taps(layer.weight.numpy())
        if self.taps is None:
            raise ValueError("the anti-alias kernel is not a separable Gaussian")

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        from ppgan_app.models.firstorder.blocks import nearest_align_corners_index

        if self.scale == 1.0:
            return x
        h, w = int(x.shape[2]), int(x.shape[3])
        rows = nearest_align_corners_index(h, int(h * self.scale))
        cols = nearest_align_corners_index(w, int(w * self.scale))
        left = paddle.to_tensor(banded_picks(rows, h, self.taps, self.before).astype("float32"))
        right = paddle.to_tensor(banded_picks(cols, w, self.taps, self.before).T.astype("float32"))
        return paddle.matmul(paddle.matmul(left, x), right)


def _required_affine(norm: nn.Layer) -> tuple[np.ndarray, np.ndarray]:
    affine = batch_norm_affine(norm)
    if affine is None:
        raise ValueError("expected a batch norm with running statistics, got "
                         f"{type(norm).__name__}")
    return affine


def interleave_phases(x: paddle.Tensor, channels: int) -> paddle.Tensor:
    """Phase-major ``[N, 4*C, H, W]`` (channel ``(2a+b)*C + c``) -> ``[N, C, 2H, 2W]``.

    Output pixel ``(2i+a, 2j+b)`` of channel c is input ``(i, j)`` of channel
    ``(2a+b)*C + c``. A reshape + transpose, which oneDNN runs (Paddle's ``pixel_shuffle``
    has no oneDNN kernel and costs two layout conversions more).
    """
    _, _, h, w = x.shape
    out = x.reshape([-1, 2, 2, channels, h, w]).transpose([0, 3, 4, 1, 5, 2])
    return out.reshape([-1, channels, 2 * h, 2 * w])


def _as_pair(value) -> tuple:
    if isinstance(value, int):
        return (value, value)
    return tuple(int(v) for v in value)


def is_plain_up_block(layer: nn.Layer) -> bool:
    """True for PaddleGAN's ``UpBlock2d`` (nearest x2, 3x3 conv, padding 1, no groups)."""
    conv = getattr(layer, "conv", None)
    if type(layer).__name__ != "UpBlock2d" or not isinstance(conv, nn.Conv2D):
        return False
    if not hasattr(layer, "norm") or tuple(conv.weight.shape[2:]) != (3, 3):
        return False
    padding = getattr(conv, "_padding", None)
    return (_as_pair(getattr(conv, "_stride", 1)) == (1, 1)
            and getattr(conv, "_groups", 1) == 1
            and _as_pair(getattr(conv, "_dilation", 1)) == (1, 1)
            and isinstance(padding, (int, list, tuple)) and _as_pair(padding) == (1, 1))


def _is_depthwise_3x3(conv: nn.Layer) -> bool:
    """A depthwise 3x3 conv, stride 1, padding 1, no dilation."""
    if not isinstance(conv, nn.Conv2D) or tuple(conv.weight.shape[1:]) != (1, 3, 3):
        return False
    padding = getattr(conv, "_padding", None)
    return (getattr(conv, "_groups", 1) == conv.weight.shape[0]
            and _as_pair(getattr(conv, "_stride", 1)) == (1, 1)
            and _as_pair(getattr(conv, "_dilation", 1)) == (1, 1)
            and isinstance(padding, (int, list, tuple)) and _as_pair(padding) == (1, 1))


def is_mobile_up_block(layer: nn.Layer) -> bool:
    """True for PaddleGAN's ``MobileUpBlock2d`` (nearest x2, depthwise 3x3 + BN, 1x1 + BN)."""
    return (type(layer).__name__ == "MobileUpBlock2d"
            and _is_depthwise_3x3(getattr(layer, "conv", None))
            and batch_norm_affine(getattr(layer, "norm", None)) is not None
            and all(hasattr(layer, name) for name in ("conv1", "norm1")))


def is_preactivation_res_block(layer: nn.Layer) -> bool:
    """True for PaddleGAN's ``ResBlock2d`` / ``MobileResBlock2d`` (their ``norm1`` is applied to
    the block's input) with a batch norm that has running statistics."""
    return (type(layer).__name__ in ("ResBlock2d", "MobileResBlock2d")
            and batch_norm_affine(getattr(layer, "norm1", None)) is not None)


def is_separable_anti_alias(layer: nn.Layer) -> bool:
    """True for PaddleGAN's ``AntiAliasInterpolation2d`` with a separable (Gaussian) kernel."""
    weight = getattr(layer, "weight", None)
    return (type(layer).__name__ == "AntiAliasInterpolation2d" and weight is not None
            and hasattr(layer, "ka") and separable_taps(weight.numpy()) is not None)


def is_dense_motion(layer: nn.Layer) -> bool:
    """True for a FOMM ``DenseMotionNetwork`` (replaced by :class:`FastDenseMotion`)."""
    return (type(layer).__name__ == "DenseMotionNetwork"
            and all(hasattr(layer, name) for name in ("hourglass", "mask", "occlusion", "num_kp",
                                                      "kp_variance", "scale_factor")))


Rule = tuple[Callable[[nn.Layer], bool], Callable[[nn.Layer], nn.Layer]]
DEFAULT_RULES: tuple[Rule, ...] = ((is_plain_up_block, DeconvUpBlock),
                                   (is_mobile_up_block, PhaseUpBlock),
                                   (is_preactivation_res_block, with_affine_preactivation),
                                   (is_separable_anti_alias, SeparableAntiAlias),
                                   (is_dense_motion, FastDenseMotion))


def replace_sublayers(root: nn.Layer, rules: tuple[Rule, ...] = DEFAULT_RULES) -> int:
    """Replace, in place, every sublayer of ``root`` matched by a rule; returns the count."""
    count = 0
    for name, child in list(root.named_children()):
        factory = next((make for match, make in rules if match(child)), None)
        count += replace_sublayers(child, rules)     # wrappers keep rewritten children
        if factory is None:
            continue
        replacement = factory(child)
        if isinstance(root, (nn.LayerList, nn.Sequential)):
            root._sub_layers[name] = replacement
        else:
            setattr(root, name, replacement)
        count += 1
    return count


def rewritten_copy(layer: nn.Layer, rules: tuple[Rule, ...] = DEFAULT_RULES) -> nn.Layer:
    """A deep copy of ``layer`` (eval mode) with the export rewrites; ``layer`` is untouched."""
    clone = copy.deepcopy(layer)
    clone.eval()
    count = replace_sublayers(clone, rules)
    LOG.debug("%s: %d sublayers rewritten for export", type(layer).__name__, count)
    return clone
