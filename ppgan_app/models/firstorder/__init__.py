"""First Order Motion Model: building networks from configs, what checkpoints say, keypoint maths.

Loading weights into them is :func:`ppgan_app.weights.fomm.load_fomm`.

The networks live here too: ``blocks`` (hourglass, down/up blocks), ``keypoint_detector``,
``dense_motion``, ``generator`` (occlusion-aware), ``discriminator``, ``normalize_kp``; importing
this package registers the generator and discriminator.
"""
from ppgan_app.models.firstorder import discriminator, generator  # noqa: F401 - registers
from ppgan_app.models.firstorder.build import (DEFAULT_CONFIG, build_fomm_networks,  # noqa: F401
                                               fomm_model_config, fomm_size_multiple,
                                               load_fomm_config,
                                               randomize_fomm_weights)
from ppgan_app.errors import CheckpointMismatchError  # noqa: F401
from ppgan_app.models.firstorder.checkpoint import checkpoint_config, config_frame_size  # noqa: F401
from ppgan_app.models.firstorder.losses import FirstOrderGenerator, Transform, VGG19  # noqa: F401
from ppgan_app.models.firstorder.model import FirstOrderModel  # noqa: F401
from ppgan_app.models.firstorder.mobile import FirstOrderModelMobile  # noqa: F401
