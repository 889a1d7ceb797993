"""The kit's registries. Each one imports the package that fills it on first lookup."""
from ppgan_app.utils.registry import Registry

MODELS = Registry("models", scope="ppgan_app.models")
GENERATORS = Registry("generators", scope="ppgan_app.models")
DISCRIMINATORS = Registry("discriminators", scope="ppgan_app.models")
CRITERIONS = Registry("criterions", scope="ppgan_app.models")
DATASETS = Registry("datasets", scope="ppgan_app.datasets")
OPTIMIZERS = Registry("optimizers", scope="ppgan_app.solver")
LRSCHEDULERS = Registry("lr_schedulers", scope="ppgan_app.solver")
METRICS = Registry("metrics", scope="ppgan_app.metrics")
