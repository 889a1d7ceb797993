"""The one FOMM loading path: resolve, read, pick the config, size, build and load strictly.

    kp_detector, generator, config, image_size, path = load_fomm("RUN/iter_0003000_checkpoint.pdparams")

Takes PaddleGAN's published files (``{"kp_detector": sd, "generator": sd}``), PaddleGAN
training checkpoints (the same two keys among others) and this kit's training checkpoints
(``{"nets": ..., "config": ...}``), which carry their architecture and frame size. The
predictor, the exporter, the evaluation and the benchmarks all load FOMM weights here.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, Mapping, NamedTuple, Optional, Tuple, Union

import paddle

from ppgan_app.errors import InputError
from ppgan_app.models.firstorder.build import (ConfigLike, build_fomm_networks, fomm_model_config,
                                               fomm_size_multiple, load_fomm_config)
from ppgan_app.models.firstorder.checkpoint import checkpoint_config, config_frame_size
from ppgan_app.weights.reader import load_nets_strict, net_states, read_weights

logger = logging.getLogger(__name__)

NET_NAMES = ("kp_detector", "generator")
DEFAULT_IMAGE_SIZE = 256   # the official checkpoints' size, when nothing else says
Checkpoint = Union[str, Path, Mapping[str, Any]]


class LoadedFomm(NamedTuple):
    """FOMM networks with their weights loaded (eval mode)."""

    kp_detector: paddle.nn.Layer
    generator: paddle.nn.Layer
    config: Dict[str, Any]         # the whole config that built them (``model`` section inside)
    image_size: int                # side S of the square frames they animate
    path: Optional[Path]           # the weight file read (None for an already loaded dict)


def default_model(image_size: int, mobile_net: bool) -> Dict[str, str]:
    """Packaged config name and official weight name for a model choice."""
    if mobile_net:
        if image_size != 256:
            raise InputError("--mobile_net exists for --image_size 256 only")
        return {"config": "firstorder_vox_mobile_256", "weights": "vox-mobile"}
    if image_size == 512:
        return {"config": "firstorder_vox_512", "weights": "vox-cpk-512"}
    if image_size == 256:
        return {"config": "firstorder_vox_256", "weights": "vox-cpk"}
    raise InputError(f"--image_size {image_size}: the official models are 256 and 512; "
                     "pass --config and --weight_path for other sizes")


def check_image_size(image_size: int, cfg: ConfigLike) -> None:
    """Refuse, before any work, a frame side the networks of ``cfg`` cannot take.

    Raises:
        InputError: ``image_size`` is not a positive multiple of the architecture's rule.
    """
    multiple = fomm_size_multiple(cfg)
    if image_size < multiple or image_size % multiple:
        raise InputError(f"--image_size {image_size}: this architecture takes multiples of "
                         f"{multiple} (e.g. {max(multiple, image_size // multiple * multiple)})")


def read_fomm_checkpoint(path: Union[str, Path]) -> Mapping[str, Any]:
    """The checkpoint file at ``path``, loaded once (errors name the file)."""
    return read_weights(path, "FOMM weights", hint="download them again, or pass a .pdparams "
                        "file of PaddleGAN or of this kit")


def fomm_state_dicts(checkpoint: Checkpoint) -> Dict[str, Mapping[str, Any]]:
    """``{"kp_detector": sd, "generator": sd}`` from a path or a loaded checkpoint dict."""
    if isinstance(checkpoint, (str, Path)):
        checkpoint = read_fomm_checkpoint(checkpoint)
    return net_states(checkpoint, NET_NAMES)


def load_fomm_checkpoint(checkpoint: Checkpoint, kp_detector: paddle.nn.Layer,
                         generator: paddle.nn.Layer) -> None:
    """Load both state dicts of ``checkpoint`` (a path or a loaded dict), strictly.

    Raises:
        CheckpointMismatchError: one line naming the count of missing, unexpected and
            mis-shaped keys and the first (``details`` lists them all); nothing is loaded.
    """
    states = fomm_state_dicts(checkpoint)
    load_nets_strict({"kp_detector": kp_detector, "generator": generator}, states,
                     "the checkpoint", "the FOMM networks built from this config",
                     hint="wrong --config, or --mobile_net / --image_size not matching the "
                          "weights? --verbose lists them all")
    logger.info("loaded FOMM weights (%d kp_detector and %d generator tensors)",
                len(states["kp_detector"]), len(states["generator"]))


def _resolve(weights: Union[str, Path]) -> Path:
    from ppgan_app.utils.download import resolve_weights

    return Path(resolve_weights(str(weights)))


def load_fomm(weights: Optional[Checkpoint] = None, config: ConfigLike = None,
              image_size: Optional[int] = None, mobile: bool = False, inference: bool = True,
              require_config: bool = False) -> LoadedFomm:
    """Build the FOMM networks a checkpoint needs and load it into them, strictly.

    Args:
        weights: a checkpoint path, a known weight name (``vox-cpk``; resolved and downloaded
            once), a loaded checkpoint dict, or ``None`` for the official weights of
            ``image_size``/``mobile``.
        config: YAML path, packaged config name or dict; ``None`` = the checkpoint's own
            config (this kit's training checkpoints carry one), else the packaged default
            for ``image_size``/``mobile``.
        image_size: frame side; ``None`` = the config's training frame size
            (``dataset.train.frame_shape``), else 256.
        mobile: the distilled model's default config and weights.
        inference: the generator's border handling for animation (False for reconstruction).
        require_config: a checkpoint without a config and no ``config`` is an error instead
            of falling back to the packaged default (for tools that need the true architecture).

    Raises:
        WeightsUnavailableError: a known name that is neither cached nor downloadable.
        CheckpointError: unreadable file, no config where one is required, or weights that
            do not fit the networks (:class:`~ppgan_app.errors.CheckpointMismatchError`).
        ConfigError / InputError: a config that is not FOMM's, or a frame size it cannot take.
    """
    state, path, config = _checkpoint_and_config(weights, config, image_size, mobile,
                                                 require_config)
    cfg = load_fomm_config(config)
    fomm_model_config(cfg)   # a GAN or other config fails here, naming the problem
    size = image_size if image_size is not None else (config_frame_size(cfg)
                                                      or DEFAULT_IMAGE_SIZE)
    check_image_size(size, cfg)
    kp_detector, generator = build_fomm_networks(cfg, inference=inference)
    load_fomm_checkpoint(state, kp_detector, generator)
    return LoadedFomm(kp_detector, generator, cfg, size, path)


def _checkpoint_and_config(weights: Optional[Checkpoint], config: ConfigLike,
                           image_size: Optional[int], mobile: bool, require_config: bool
                           ) -> Tuple[Checkpoint, Optional[Path], ConfigLike]:
    """``(checkpoint, its file, config)`` for :func:`load_fomm`: the file read once, the
    config as given, else the checkpoint's own, else the packaged default of the choice."""
    if weights is None:
        choice = default_model(image_size or DEFAULT_IMAGE_SIZE, mobile)
        path = _resolve(choice["weights"])
        return path, path, config if config is not None else choice["config"]
    path = None if isinstance(weights, Mapping) else _resolve(weights)
    state = weights if path is None else read_fomm_checkpoint(path)
    if config is None:
        config = checkpoint_config(state, required=require_config)
    if config is None:
        config = default_model(image_size or DEFAULT_IMAGE_SIZE, mobile)["config"]
    return state, path, config
