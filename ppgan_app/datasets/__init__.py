"""Datasets, registered in ``DATASETS``. Items are dicts:
``{"img": [C, H, W] float32 in [-1, 1], "class_id": int64 scalar}``.

A dataset config entry also carries loader keys (``batch_size``, ``num_workers``,
``shuffle``, ``drop_last``); the engine pops them before building the dataset.
"""
from ppgan_app.datasets import first_order  # noqa: F401
from ppgan_app.datasets import image_folder  # noqa: F401
from ppgan_app.datasets import mnist  # noqa: F401
from ppgan_app.datasets import sr_pairs  # noqa: F401
from ppgan_app.datasets import transforms  # noqa: F401
