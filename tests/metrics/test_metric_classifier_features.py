"""Classifier-feature FD, KID, precision/recall, class statistics, and the trainer's metric entry."""
from pathlib import Path

import numpy as np
import pytest

from ppgan_app.apps.gan.classifier import FitOptions, fit_classifier, save_classifier
from ppgan_app.errors import CheckpointError
from ppgan_app.metrics.classifier_features import (class_statistics, feature_fd, kid, precision_recall,
                                                   quality_figures)
from ppgan_app.registries import METRICS
from ppgan_app.utils.registry import build_from_config


def gaussian(n=600, d=16, seed=0, shift=0.0):
    return np.random.default_rng(seed).standard_normal((n, d)) + shift


def test_fd_of_a_set_with_itself_is_zero_and_grows_with_noise():
    feats = gaussian()
    assert abs(feature_fd(feats, feats)) < 1e-8
    rng = np.random.default_rng(1)
    values = [feature_fd(feats + s * rng.standard_normal(feats.shape), feats) for s in (0.1, 0.5, 1.0)]
    assert 0 < values[0] < values[1] < values[2]


def test_kid_unbiased_same_distribution_positive_otherwise():
    same = [kid(gaussian(seed=s), gaussian(seed=100 + s), subsets=5, subset_size=300, seed=s)[0]
            for s in range(6)]
    shifted = kid(gaussian(shift=0.5), gaussian(seed=100), subsets=5, subset_size=300)[0]
    # unbiased: independent samples of one distribution average to ~0, of either sign
    assert abs(np.mean(same)) < 0.05 * shifted
    assert min(same) < 0 < max(same) or abs(np.mean(same)) < 1e-3
    assert shifted > 0.05


def test_precision_recall_of_a_set_with_itself_is_one_and_drops_when_disjoint():
    feats = gaussian(300)
    assert precision_recall(feats, feats) == (1.0, 1.0)
    precision, recall = precision_recall(gaussian(300, shift=10.0), feats)
    assert precision == 0.0 and recall == 0.0
    collapsed = feats[:1] + 0.01 * gaussian(300, seed=2)  # mode collapse: precise, no recall
    p, r = precision_recall(collapsed, feats)
    assert p > 0.9 and r < 0.1


def test_class_statistics():
    balanced = np.eye(10)[np.arange(100) % 10]
    stats = class_statistics(balanced)
    assert stats == {"coverage": 1.0, "entropy": pytest.approx(1.0), "confidence": 1.0}
    collapsed = class_statistics(np.eye(10)[np.zeros(100, int)])
    assert collapsed["coverage"] == 0.1 and collapsed["entropy"] == 0.0
    figures = quality_figures(gaussian(50), balanced[:50], gaussian(50, seed=3))
    assert set(figures) == {"fd", "kid", "kid_std", "precision", "recall", "coverage", "entropy", "confidence"}


def tiny_classifier(path: Path) -> Path:
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (40, 1, 28, 28)).astype(np.float32)
    y = np.arange(40) % 10
    net = fit_classifier(x, y, 10, FitOptions(epochs=1, batch_size=20), width=4, feature_dim=8)
    return save_classifier(net, path, {"dataset": "random"})


def test_metric_entry_returns_fd_and_logs_the_rest(tmp_path):
    ckpt = tiny_classifier(tmp_path / "clf.pdparams")
    metric = build_from_config({"name": "ClassifierFeatureDistance", "checkpoint": str(ckpt)}, METRICS)
    rng = np.random.default_rng(1)
    real = rng.uniform(-1, 1, (30, 1, 32, 32)).astype(np.float32)
    metric.update(real, real)
    assert abs(metric.accumulate()) < 1e-6 and metric.last_figures["precision"] == 1.0
    metric.reset()
    metric.update(np.clip(real + rng.normal(0, 0.5, real.shape), -1, 1).astype(np.float32), real)
    assert metric.accumulate() > 0


def test_metric_entry_missing_checkpoint(tmp_path):
    entry = {"name": "ClassifierFeatureDistance", "checkpoint": str(tmp_path / "none.pdparams")}
    with pytest.raises(CheckpointError, match="train_classifier.py"):
        build_from_config(entry, METRICS)
    quiet = build_from_config({**entry, "if_missing": "warn"}, METRICS)
    quiet.update(np.zeros((2, 1, 28, 28), np.float32), np.zeros((2, 1, 28, 28), np.float32))
    assert quiet.accumulate() is None


def test_metric_entry_inside_a_three_iteration_training_run(tmp_path):
    from ppgan_app.datasets.mnist import write_idx
    from ppgan_app.engine import Trainer
    from ppgan_app.utils.config import load_config

    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.RandomState(0)
    for prefix, n in (("train", 16), ("t10k", 12)):
        write_idx(str(data / f"{prefix}-images-idx3-ubyte"), rng.randint(0, 256, (n, 28, 28)).astype(np.uint8))
        write_idx(str(data / f"{prefix}-labels-idx1-ubyte"), (np.arange(n) % 10).astype(np.uint8))
    ckpt = tiny_classifier(tmp_path / "clf.pdparams")
    repo = Path(__file__).resolve().parents[2]
    cfg = load_config(repo / "configs" / "sngan_fashion_mnist.yaml", [
        f"dataset.train.data_root={data}", f"output_dir={tmp_path / 'out'}", "total_iters=3", "seed=1",
        "model.generator.ngf=4", "model.discriminator.ndf=4", "model.num_samples=4", "model.ema_start=1",
        "dataset.train.batch_size=8", "dataset.test.batch_size=6", "log_config={interval: 1, visiual_interval: 0}",
        f"validate={{interval: 3, metrics: {{cfd: {{name: ClassifierFeatureDistance, checkpoint: {ckpt}}}}}}}"])
    trainer = Trainer(cfg, name="cfd")
    trainer.train()
    results = trainer.evaluate()
    trainer.close()
    assert np.isfinite(results["cfd"]) and results["cfd"] > 0
    bad = dict(cfg, validate={"interval": 3, "metrics": {"cfd": {"name": "ClassifierFeatureDistance",
                                                                 "checkpoint": str(tmp_path / "no.pdparams")}}})
    with pytest.raises(CheckpointError):  # before any training
        Trainer(bad, name="bad")


def test_load_classifier_refuses_weights_of_another_shape(tmp_path):
    import paddle

    from ppgan_app.metrics.classifier_features import load_classifier

    ckpt = tiny_classifier(tmp_path / "clf.pdparams")
    net, meta = load_classifier(ckpt)
    assert meta == {"dataset": "random"} and not net.training
    state = paddle.load(str(ckpt))
    state["arch"]["feature_dim"] = 16  # the stored weights are 8 wide
    paddle.save(state, str(tmp_path / "bad.pdparams"))
    with pytest.raises(CheckpointError, match="does not fit"):
        load_classifier(tmp_path / "bad.pdparams")
    (tmp_path / "junk.pdparams").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read"):
        load_classifier(tmp_path / "junk.pdparams")


def test_metrics_and_models_import_nothing_from_the_apps():
    """Layering: metrics, models and utils sit below the apps and never import them."""
    import ast

    root = Path(__file__).resolve().parents[2] / "ppgan_app"
    upward = []
    for folder in ("metrics", "models", "utils"):
        for path in (root / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                upward += [f"{path.name}: {n}" for n in names if n.startswith(("ppgan_app.apps", "ppgan_app.cli"))]
    assert upward == []


def test_classifier_training_shows_progress(tmp_path, capsys):
    tiny_classifier(tmp_path / "clf.pdparams")
    err = capsys.readouterr().err
    assert "training the classifier:   0%|          | 0/2" in err   # 40 images, batch 20, 1 epoch
