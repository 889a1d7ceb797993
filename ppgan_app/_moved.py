"""Module paths that moved, kept importable for one release.

Each old path is a three-line file calling :func:`alias_module` (``ppgan_app/modules/`` keeps an
empty package for its moved modules), so ``import
ppgan_app.apps.video_io`` gives the very module ``ppgan_app.media.video`` (same functions, same
state, monkeypatching included) and warns once that the path is deprecated. :data:`MOVED` is the
one table of old and new paths (the architecture test reads it too).
"""
from __future__ import annotations

import importlib
import sys
import warnings
from typing import Dict

#: old module path -> new module path (moved in 0.2; the old paths go in 0.3)
MOVED: Dict[str, str] = {
    "ppgan_app.apps.video_io": "ppgan_app.media.video",
    "ppgan_app.apps.gan_sampler": "ppgan_app.apps.gan.sampler",
    "ppgan_app.apps.gan_augment": "ppgan_app.apps.gan.augment",
    "ppgan_app.apps.gan_quality": "ppgan_app.apps.gan.quality",
    "ppgan_app.apps.labelled_data": "ppgan_app.apps.gan.labelled_data",
    "ppgan_app.apps.classifier": "ppgan_app.apps.gan.classifier",
    "ppgan_app.apps.motion_dataset": "ppgan_app.apps.fomm_training.motion_dataset",
    "ppgan_app.apps.fomm_evaluation": "ppgan_app.apps.fomm_training.evaluation",
    "ppgan_app.apps.fomm_export": "ppgan_app.apps.fomm_training.export",
    "ppgan_app.apps.ordered_stage": "ppgan_app.utils.ordered_stage",
    "ppgan_app.apps.errors": "ppgan_app.errors",
    "ppgan_app.utils.weights": "ppgan_app.weights.reader",
    "ppgan_app.modules.first_order": "ppgan_app.models.firstorder.blocks",
    "ppgan_app.modules.dense_motion": "ppgan_app.models.firstorder.dense_motion",
    "ppgan_app.modules.keypoint_detector": "ppgan_app.models.firstorder.keypoint_detector",
    "ppgan_app.modules.normalize_kp": "ppgan_app.models.firstorder.normalize_kp",
    "ppgan_app.models.generators.occlusion_aware": "ppgan_app.models.firstorder.generator",
    "ppgan_app.models.discriminators.firstorder_discriminator":
        "ppgan_app.models.firstorder.discriminator",
}


def alias_module(old_name: str) -> None:
    """Make the module ``old_name`` an alias of its new module in :data:`MOVED`."""
    new_name = MOVED[old_name]
    warnings.warn(f"{old_name} moved to {new_name}; the old path goes in the next release",
                  DeprecationWarning, stacklevel=3)
    sys.modules[old_name] = importlib.import_module(new_name)
