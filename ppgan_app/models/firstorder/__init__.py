"""First Order Motion Model: building networks from configs, checkpoints, keypoint maths.

The networks live here too: ``blocks`` (hourglass, down/up blocks), ``keypoint_detector``,
``dense_motion``, ``generator`` (occlusion-aware), ``discriminator``, ``normalize_kp``; importing
this package registers the generator and discriminator.
"""
from ppgan_app.models.firstorder import discriminator, generator  # noqa: F401 - registers
from ppgan_app.models.firstorder.build import (DEFAULT_CONFIG, build_fomm_networks,  # noqa: F401
                                               fomm_model_config, fomm_size_multiple,
                                               load_fomm_config,
                                               randomize_fomm_weights)
from ppgan_app.models.firstorder.checkpoint import (CheckpointMismatchError,  # noqa: F401
                                                    fomm_state_dicts, load_fomm_checkpoint,
                                                    state_dict_mismatch)
from ppgan_app.models.firstorder.losses import FirstOrderGenerator, Transform, VGG19  # noqa: F401
from ppgan_app.models.firstorder.model import FirstOrderModel  # noqa: F401
from ppgan_app.models.firstorder.mobile import FirstOrderModelMobile  # noqa: F401
