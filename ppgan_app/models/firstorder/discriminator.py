"""FOMM discriminator: multi-scale patch discriminator (optionally keypoint-conditioned).

Attribute names follow PaddleGAN (``discriminator.discs.1.down_blocks.0.conv.weight_orig``)
so that its training checkpoints fit.
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from ppgan_app.models.firstorder.blocks import ImagePyramide, kp2gaussian
from ppgan_app.registries import DISCRIMINATORS


class DiscriminatorBlock(nn.Layer):
    """4x4 conv (no padding), optional instance norm, LeakyReLU(0.2), optional 2x2 avg pool."""

    def __init__(self, in_features: int, out_features: int, norm: bool = False,
                 kernel_size: int = 4, pool: bool = False, sn: bool = False) -> None:
        super().__init__()
        self.conv = nn.Conv2D(in_features, out_features, kernel_size=kernel_size)
        if sn:
            self.conv = nn.utils.spectral_norm(self.conv)
        self.norm = nn.InstanceNorm2D(num_features=out_features, epsilon=1e-5) if norm else None
        self.pool = pool

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        out = self.conv(x)
        if self.norm is not None:
            out = self.norm(out)
        out = F.leaky_relu(out, 0.2)
        if self.pool:
            out = F.avg_pool2d(out, kernel_size=2, stride=2)
        return out


class Discriminator(nn.Layer):
    """Patch discriminator for one scale.

    Forward: ``x [N, C, H, W]`` in [0, 1] (and keypoints when ``use_kp``); returns the
    feature maps of every block and the ``[N, 1, h, w]`` prediction map (LSGAN targets).
    """

    def __init__(self, num_channels: int = 3, block_expansion: int = 64, num_blocks: int = 4,
                 max_features: int = 512, sn: bool = False, use_kp: bool = False,
                 num_kp: int = 10, kp_variance: float = 0.01, **unused: Any) -> None:
        super().__init__()
        blocks = []
        for i in range(num_blocks):
            cin = (num_channels + num_kp * use_kp if i == 0
                   else min(max_features, block_expansion * (2 ** i)))
            cout = min(max_features, block_expansion * (2 ** (i + 1)))
            blocks.append(DiscriminatorBlock(cin, cout, norm=i != 0, kernel_size=4,
                                             pool=i != num_blocks - 1, sn=sn))
        self.down_blocks = nn.LayerList(blocks)
        self.conv = nn.Conv2D(min(max_features, block_expansion * (2 ** num_blocks)), 1, kernel_size=1)
        if sn:
            self.conv = nn.utils.spectral_norm(self.conv)
        self.use_kp = use_kp
        self.kp_variance = kp_variance

    def forward(self, x: paddle.Tensor, kp: Optional[Mapping[str, paddle.Tensor]] = None
                ) -> Tuple[List[paddle.Tensor], paddle.Tensor]:
        out = x
        if self.use_kp:
            out = paddle.concat([out, kp2gaussian(kp["value"], x.shape[2:], self.kp_variance)], axis=1)
        feature_maps = []
        for block in self.down_blocks:
            out = block(out)
            feature_maps.append(out)
        return feature_maps, self.conv(out)


class MultiScaleDiscriminator(nn.Layer):
    """One :class:`Discriminator` per pyramid scale (sub-layers named ``"1"``, ``"0-5"`` ...).

    Forward: ``{"prediction_<s>": image}`` -> ``{"feature_maps_<s>": [...], "prediction_map_<s>": ...}``.
    """

    def __init__(self, scales: Sequence[float] = (), **kwargs: Any) -> None:
        super().__init__()
        self.scales = list(scales)
        self.discs = nn.LayerList()
        self.name_list: List[str] = []
        for scale in self.scales:
            name = str(scale).replace(".", "-")
            self.discs.add_sublayer(name, Discriminator(**kwargs))
            self.name_list.append(name)

    def forward(self, x: Mapping[str, paddle.Tensor], kp: Optional[Mapping[str, paddle.Tensor]] = None
                ) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        for name, disc in zip(self.name_list, self.discs):
            scale = name.replace("-", ".")
            feature_maps, prediction_map = disc(x["prediction_" + scale], kp)
            out["feature_maps_" + scale] = feature_maps
            out["prediction_map_" + scale] = prediction_map
        return out


def _detach_kp(kp: Mapping[str, paddle.Tensor]) -> Dict[str, paddle.Tensor]:
    return {k: v.detach() for k, v in kp.items()}


@DISCRIMINATORS.register()
class FirstOrderDiscriminator(nn.Layer):
    """The FOMM discriminator with its LSGAN loss (PaddleGAN's layout).

    Args:
        discriminator_cfg: ``scales``, ``block_expansion``, ``max_features``, ``num_blocks``, ``sn``
            (and optionally ``use_kp``, ``kp_variance``).
        common_params: ``num_kp``, ``num_channels``, ``estimate_jacobian``.
        train_params: needs ``loss_weights.discriminator_gan``.

    Forward: ``x["driving"] [N, C, H, W]`` in [0, 1] and ``generated`` (``prediction`` and
    ``kp_driving``) -> ``{"disc_gan": scalar}``.
    """

    def __init__(self, discriminator_cfg: Mapping[str, Any], common_params: Mapping[str, Any],
                 train_params: Mapping[str, Any]) -> None:
        super().__init__()
        self.discriminator = MultiScaleDiscriminator(**discriminator_cfg, **common_params)
        self.train_params = train_params
        self.scales = self.discriminator.scales
        self.pyramid = ImagePyramide(self.scales, common_params["num_channels"])
        self.loss_weights = train_params["loss_weights"]

    def forward(self, x: Mapping[str, paddle.Tensor], generated: Mapping[str, Any]
                ) -> Dict[str, paddle.Tensor]:
        kp_driving = _detach_kp(generated["kp_driving"])
        maps_real = self.discriminator(self.pyramid(x["driving"]), kp=kp_driving)
        maps_fake = self.discriminator(self.pyramid(generated["prediction"].detach()), kp=kp_driving)
        total = 0.0
        for scale in self.scales:
            key = f"prediction_map_{scale}"
            value = (1 - maps_real[key]) ** 2 + maps_fake[key] ** 2
            total = total + self.loss_weights["discriminator_gan"] * value.mean()
        return {"disc_gan": total}
