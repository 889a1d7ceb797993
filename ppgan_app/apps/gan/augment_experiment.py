"""Does a conditional GAN trained on a small labelled set make a better classifier? The experiment.

For each real-images-per-class size and seed (``configs/augmentation_fashion_mnist.yaml``)::

    subset (size per class, drawn once with subset_seed)  --> conditional GAN (sees the subset only)
        --> generated labelled set (ImageFolderDataset layout + manifest.json; optional class-fidelity
            filter by a classifier trained on the subset) --> classifier arms --> test accuracy

Arms differ only in what is added to the real images: every arm trains the same small classifier
for the same number of passes over the real subset (``apps.classifier.fit_mixed``). One GAN is
trained per (data set, size, GAN settings) and shared by all seeds; the seeds vary the classifier
(initialisation, batch order, augmentation) and the generator noise.

Everything lands under ``output_dir`` and is reused when its inputs are unchanged (each piece is
keyed by a hash of the settings it depends on), so an interrupted run continues where it stopped
and configs that share a GAN or an arm share the work::

    gans/<size>pc-<hash>/gan.json       the GAN checkpoint of that subset (runs/ holds the trainer's run)
    generated/<size>pc/seed<s>-<hash>/  a generated labelled set with manifest.json
    cells/<size>pc/seed<s>/<hash>.json  one arm's test accuracy and CPU seconds
    results.json, results.md            the table: mean +- std over seeds per size and arm
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from ppgan_app.apps.gan.classifier import AUGMENTATIONS, SCHEDULES, FitOptions, MixOptions, accuracy, fit_mixed
from ppgan_app.apps.gan.labelled_data import per_class_subset, resize_images
from ppgan_app.errors import ConfigError, InputError
from ppgan_app.utils.config import apply_override, merge, parse_yaml
from ppgan_app.utils.safe_files import atomic_output

logger = logging.getLogger(__name__)

DATASET_KINDS = ("fashion_mnist", "mnist", "image_folder")
FILTERS = ("none", "classifier")
WEIGHTS = ("none", "confidence")
GENERATORS = ("ema", "raw")
TEST_SPLIT_SEED = 12345  # image folders: which images of each class are held out for testing


# --- the config (one statement per option: the field comments are the documentation) -------------
@dataclass(frozen=True)
class DataSpec:
    name: str = "fashion_mnist"        # fashion_mnist or mnist (idx files), or image_folder
    dataroot: str = "../shared/data/fashion-mnist"  # idx folder, or a folder with one sub-folder per class
    channels: int = 1                  # image_folder: 1 (grayscale) or 3 (RGB)
    img_size: int = 28                 # image_folder: images are resized to this side (multiple of 4)
    test_per_class: int = 50           # image_folder: images per class held out as the test set
    test_max: Optional[int] = None     # idx: test on the first N test images (None: all)


@dataclass(frozen=True)
class GanSpec:
    config: str = "configs/cond_dcgan_fashion_mnist.yaml"  # trainer config of a conditional GAN
    iters: int = 1500                  # GAN iterations per subset
    batch_size: int = 64               # GAN batch (at most the subset's size is useful)
    overrides: Tuple[str, ...] = ()    # `-o` overrides of that config (as tools/main.py takes them)


@dataclass(frozen=True)
class GenerateSpec:
    per_class: int = 500               # generated images kept per class
    candidates_per_class: int = 500    # images generated per class before the filter (>= per_class)
    filter: str = "none"               # none, or classifier: keep images the filter arm's classifier
                                       # labels as intended, most confident first
    filter_arm: str = "real"           # the arm (without GAN images) whose classifier filters
    min_confidence: float = 0.0        # classifier filter: least probability of the intended label
    weight: str = "none"               # none, or confidence: weight each generated image's loss by it
    truncation: Optional[float] = None  # redraw |z| above this (None: plain N(0, I))
    generator: str = "ema"             # ema: the EMA generator when the checkpoint keeps one; raw: netG


@dataclass(frozen=True)
class ClassifierSpec:
    width: int = 8                     # FeatureClassifier channels of the first block
    feature_dim: int = 64              # its hidden layer
    batch_size: int = 32               # real images per step (generated ones come on top)
    epochs: int = 10                   # passes over the real images, equal in every arm
    min_steps: int = 300               # more passes for small subsets (same in every arm)
    learning_rate: float = 1.0e-3      # Adam, cosine-decayed to 0


@dataclass(frozen=True)
class ArmSpec:
    name: str = "real"                 # label in the table
    augment: str = "none"              # ordinary augmentation: none, crop (2-pixel shifts), flip_crop
    gan_share: float = 0.0             # fraction of each batch that is generated (0: no GAN images)
    schedule: str = "mixed"            # mixed, real_tail (last `tail` of the steps real only), or
                                       # pretrain (generated only first, then fine-tune on real)
    tail: float = 0.25                 # real_tail: share of the steps at the end without GAN images
    pretrain_epochs: float = 1.0       # pretrain: passes over the generated set before fine-tuning


@dataclass(frozen=True)
class ExperimentConfig:
    dataset: DataSpec = field(default_factory=DataSpec)
    sizes: Tuple[int, ...] = (10, 30, 100, 300, 1000)  # real images per class
    seeds: Tuple[int, ...] = (0, 1, 2, 3, 4)           # classifier and generator-noise seeds
    subset_seed: int = 0               # which real images form each subset (and the GAN's seed)
    gan: GanSpec = field(default_factory=GanSpec)
    generate: GenerateSpec = field(default_factory=GenerateSpec)
    classifier: ClassifierSpec = field(default_factory=ClassifierSpec)
    arms: Tuple[ArmSpec, ...] = (ArmSpec(),)
    output_dir: str = "output/augmentation"  # results and reusable pieces (see the module docstring)


def load_experiment_config(path: str | Path, overrides: Sequence[str] = ()) -> ExperimentConfig:
    """Read an experiment YAML, apply ``-o key=value`` overrides, check every value.

    Raises:
        ConfigError: missing file, unknown key or bad value (one line naming the key).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"experiment config not found: {path}")
    data = parse_yaml(path.read_text(encoding="utf-8"), source=str(path))
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: the top level must be a mapping")
    raw = merge(_plain(ExperimentConfig()), data)
    for item in overrides:
        apply_override(raw, item)
    cfg = _build(raw, str(path))
    check_experiment_config(cfg, str(path))
    return cfg


def _plain(cfg: Any) -> Any:
    """Dataclasses and tuples -> dicts and lists (JSON/YAML data)."""
    if dataclasses.is_dataclass(cfg):
        return {f.name: _plain(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}
    if isinstance(cfg, (list, tuple)):
        return [_plain(v) for v in cfg]
    return cfg


def _section(cls: type, raw: Any, where: str) -> Any:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a mapping, got {raw!r}")
    known = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ConfigError(f"unknown key(s) {unknown} in {where}; known: {known}")
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})


def _build(raw: Mapping[str, Any], source: str) -> ExperimentConfig:
    top = _section(ExperimentConfig, raw, source)
    arms = raw["arms"]
    if not isinstance(arms, list) or not arms:
        raise ConfigError(f"{source}: arms must be a non-empty list of arm mappings")
    return dataclasses.replace(
        top, dataset=_section(DataSpec, raw["dataset"], "dataset"), gan=_section(GanSpec, raw["gan"], "gan"),
        generate=_section(GenerateSpec, raw["generate"], "generate"),
        classifier=_section(ClassifierSpec, raw["classifier"], "classifier"),
        arms=tuple(_section(ArmSpec, a, f"arms[{i}]") for i, a in enumerate(arms)))


def _need(ok: bool, key: str, value: Any, expected: str, source: str) -> None:
    if not ok:
        raise ConfigError(f"{source}: {key}={value!r} is not valid: expected {expected}")


def _is_int(v: Any, low: int = 0) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= low


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_experiment_config(cfg: ExperimentConfig, source: str = "config") -> None:
    """Raise ``ConfigError`` for the first bad value (before any work starts)."""
    d, g, gen, c = cfg.dataset, cfg.gan, cfg.generate, cfg.classifier
    _need(d.name in DATASET_KINDS, "dataset.name", d.name, f"one of {DATASET_KINDS}", source)
    _need(isinstance(d.dataroot, str) and bool(d.dataroot), "dataset.dataroot", d.dataroot, "a folder", source)
    _need(d.channels in (1, 3), "dataset.channels", d.channels, "1 or 3", source)
    _need(_is_int(d.img_size, 4) and d.img_size % 4 == 0, "dataset.img_size", d.img_size,
          "a multiple of 4", source)
    _need(_is_int(d.test_per_class, 1), "dataset.test_per_class", d.test_per_class, "an integer >= 1", source)
    _need(d.test_max is None or _is_int(d.test_max, 1), "dataset.test_max", d.test_max, "null or >= 1", source)
    _need(bool(cfg.sizes) and all(_is_int(s, 1) for s in cfg.sizes), "sizes", list(cfg.sizes),
          "a non-empty list of integers >= 1", source)
    _need(bool(cfg.seeds) and all(_is_int(s) for s in cfg.seeds) and len(set(cfg.seeds)) == len(cfg.seeds),
          "seeds", list(cfg.seeds), "a non-empty list of distinct integers >= 0", source)
    _need(_is_int(cfg.subset_seed), "subset_seed", cfg.subset_seed, "an integer >= 0", source)
    _need(isinstance(g.config, str) and Path(g.config).is_file(), "gan.config", g.config,
          "an existing trainer config file", source)
    _need(_is_int(g.iters, 1), "gan.iters", g.iters, "an integer >= 1", source)
    _need(_is_int(g.batch_size, 1), "gan.batch_size", g.batch_size, "an integer >= 1", source)
    _need(all(isinstance(o, str) and "=" in o for o in g.overrides), "gan.overrides", list(g.overrides),
          "a list of key=value strings", source)
    _need(_is_int(gen.per_class, 1), "generate.per_class", gen.per_class, "an integer >= 1", source)
    _need(_is_int(gen.candidates_per_class, gen.per_class), "generate.candidates_per_class",
          gen.candidates_per_class, f"an integer >= generate.per_class ({gen.per_class})", source)
    _need(gen.filter in FILTERS, "generate.filter", gen.filter, f"one of {FILTERS}", source)
    _need(gen.generator in GENERATORS, "generate.generator", gen.generator, f"one of {GENERATORS}", source)
    _need(gen.weight in WEIGHTS, "generate.weight", gen.weight, f"one of {WEIGHTS}", source)
    _need(_is_num(gen.min_confidence) and 0 <= gen.min_confidence <= 1, "generate.min_confidence",
          gen.min_confidence, "a number in [0, 1]", source)
    _need(gen.truncation is None or (_is_num(gen.truncation) and gen.truncation > 0), "generate.truncation",
          gen.truncation, "null or a number > 0", source)
    for key in ("width", "feature_dim", "batch_size", "epochs"):
        _need(_is_int(getattr(c, key), 1), f"classifier.{key}", getattr(c, key), "an integer >= 1", source)
    _need(_is_int(c.min_steps), "classifier.min_steps", c.min_steps, "an integer >= 0", source)
    _need(_is_num(c.learning_rate) and c.learning_rate > 0, "classifier.learning_rate", c.learning_rate,
          "a number > 0", source)
    names = [a.name for a in cfg.arms]
    _need(len(set(names)) == len(names), "arms", names, "arms with distinct names", source)
    for i, a in enumerate(cfg.arms):
        _need(isinstance(a.name, str) and bool(a.name), f"arms[{i}].name", a.name, "a name", source)
        _need(a.augment in AUGMENTATIONS, f"arms[{i}].augment", a.augment, f"one of {AUGMENTATIONS}", source)
        _need(_is_num(a.gan_share) and 0 <= a.gan_share < 1, f"arms[{i}].gan_share", a.gan_share,
              "a number in [0, 1)", source)
        _need(a.schedule in SCHEDULES, f"arms[{i}].schedule", a.schedule, f"one of {SCHEDULES}", source)
        _need(_is_num(a.tail) and 0 <= a.tail <= 1, f"arms[{i}].tail", a.tail, "a number in [0, 1]", source)
        _need(_is_num(a.pretrain_epochs) and a.pretrain_epochs > 0, f"arms[{i}].pretrain_epochs",
              a.pretrain_epochs, "a number > 0", source)
    if gen.filter != "none" or gen.weight != "none":
        plain = [a.name for a in cfg.arms if not a.gan_share]
        _need(gen.filter_arm in plain, "generate.filter_arm", gen.filter_arm,
              f"the name of an arm without GAN images {plain}", source)


def fingerprint(*parts: Any) -> str:
    """A short hash of settings (dataclasses, dicts, scalars): the key of a reusable piece."""
    text = json.dumps([_plain(p) for p in parts], sort_keys=True, default=str)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:10]


# --- data --------------------------------------------------------------------------------------
@dataclass
class LabelledData:
    """Train pool and test set: images ``[N, C, H, W]`` float32 in [-1, 1], labels ``[N]`` int64."""

    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    n_class: int


def load_data(spec: DataSpec) -> LabelledData:
    """The data set a config names; an image folder is split per class into train pool and test."""
    if spec.name != "image_folder":
        from ppgan_app.apps.gan.labelled_data import load_idx_arrays
        train_x, train_y = load_idx_arrays(spec.dataroot, "train", spec.name)
        test_x, test_y = load_idx_arrays(spec.dataroot, "test", spec.name, max_samples=spec.test_max)
        return LabelledData(train_x, train_y, test_x, test_y, int(train_y.max()) + 1)
    x, y = read_image_folder(spec.dataroot, spec.channels, spec.img_size)
    rng = np.random.default_rng(TEST_SPLIT_SEED)
    test = np.zeros(len(y), bool)
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        if len(members) <= spec.test_per_class:
            raise InputError(f"class {c} of {spec.dataroot} has {len(members)} images: need more than "
                             f"dataset.test_per_class={spec.test_per_class} (the rest is the training pool)")
        test[rng.choice(members, spec.test_per_class, replace=False)] = True
    return LabelledData(x[~test], y[~test], x[test], y[test], int(y.max()) + 1)


def read_image_folder(root: str | Path, channels: int, img_size: Optional[int] = None
                      ) -> Tuple[np.ndarray, np.ndarray]:
    """All images of an ``ImageFolderDataset`` folder as arrays (resized to ``img_size`` when given)."""
    from ppgan_app.datasets.image_folder import ImageFolderDataset

    transforms = [{"name": "Resize", "size": img_size}] if img_size else []
    try:
        data = ImageFolderDataset(str(root), channels=channels,
                                  transforms=transforms + [{"name": "Normalize", "mean": 127.5, "std": 127.5}])
    except FileNotFoundError as err:
        raise InputError(" ".join(str(err).split())) from None
    items = [data[i] for i in range(len(data))]
    x = np.stack([item["img"] for item in items]).astype(np.float32)
    return x, np.asarray([int(item["class_id"]) for item in items], np.int64)


def check_sizes(data: LabelledData, sizes: Sequence[int]) -> None:
    """Every class must hold the largest subset size; InputError naming the class otherwise."""
    counts = np.bincount(data.train_y, minlength=data.n_class)
    if counts.min() < max(sizes):
        raise InputError(f"class {int(counts.argmin())} has {int(counts.min())} training images, fewer "
                         f"than the largest size {max(sizes)}; lower `sizes` or add images")


# --- GAN ---------------------------------------------------------------------------------------
def gan_trainer_config(spec: GanSpec, data_root: Path, channels: int, n_class: int, output_dir: Path,
                       seed: int) -> Dict[str, Any]:
    """The resolved trainer config of the subset's GAN: ``spec.config`` trained on ``data_root``."""
    from ppgan_app.utils.config import resolve_config

    data = parse_yaml(Path(spec.config).read_text(encoding="utf-8"), source=spec.config)
    model = data.get("model") if isinstance(data, Mapping) else None
    if not isinstance(model, Mapping) or not isinstance(model.get("generator"), Mapping):
        raise ConfigError(f"gan.config {spec.config} has no model.generator entry")
    size = int(model["generator"].get("img_size", 32))
    data = merge(data, {
        "total_iters": spec.iters, "output_dir": str(output_dir), "seed": seed, "validate": None,
        "snapshot_config": {"interval": max(1, spec.iters // 3), "max_keep": 3},
        "log_config": {"interval": max(1, spec.iters // 10), "visiual_interval": spec.iters},
        "enable_visualdl": False,
        "model": {"generator": {"n_class": n_class, "output_nc": channels},
                  "discriminator": {"n_class": n_class, "input_nc": channels}}})
    data["dataset"] = {"train": {
        "name": "ImageFolderDataset", "data_root": str(data_root), "channels": channels,
        "batch_size": spec.batch_size, "num_workers": 0,
        "transforms": [{"name": "Resize", "size": size}, {"name": "Normalize", "mean": 127.5, "std": 127.5}]}}
    return resolve_config(data, spec.overrides, source=f"gan.config {spec.config}")


def train_gan(spec: GanSpec, subset_x: np.ndarray, subset_y: np.ndarray, n_class: int, folder: Path,
              seed: int) -> Path:
    """The GAN checkpoint of this subset: trained now (resuming an interrupted run) unless
    ``folder/gan.json`` already names it."""
    from ppgan_app.apps.gan.augment import write_labelled_folder
    from ppgan_app.engine.checkpoint import list_checkpoints
    from ppgan_app.engine.trainer import Trainer

    pointer = folder / "gan.json"
    if pointer.is_file():
        return Path(json.loads(pointer.read_text(encoding="utf-8"))["checkpoint"])
    real = folder / "real"
    if not (real / "manifest.json").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        write_labelled_folder(real, subset_x, subset_y, {"subset_seed": seed, "per_class": len(subset_y) // n_class},
                              prefix="real")
    cfg = gan_trainer_config(spec, real, subset_x.shape[1], n_class, folder / "runs", seed)
    done = sorted((p for run in (folder / "runs").glob("*") for p in list_checkpoints(run)),
                  key=lambda p: p.name)
    trainer = Trainer(cfg, name="gan")
    try:
        status = trainer.train(resume=done[-1] if done else None)
    finally:
        trainer.close()
    if status != "finished":
        raise KeyboardInterrupt
    checkpoint = list_checkpoints(trainer.run_dir)[-1]
    with atomic_output(pointer) as tmp:
        tmp.write_text(json.dumps({"checkpoint": str(checkpoint.resolve()), "iters": spec.iters}) + "\n")
    return checkpoint


# --- generated sets ------------------------------------------------------------------------------
@dataclass
class Generated:
    """A generated labelled set read back from its folder: images at the real size, labels, loss weights."""

    x: np.ndarray
    y: np.ndarray
    w: Optional[np.ndarray]
    manifest: Dict[str, Any]


def make_generated(checkpoint: Path, spec: GenerateSpec, seed: int, folder: Path, n_class: int,
                   real_size: int, channels: int, filter_net: Any = None) -> Generated:
    """Write (unless present) and read back the generated set of one seed.

    ``filter_net``: the classifier trained on the real subset, needed when ``spec.filter`` or
    ``spec.weight`` uses it; images keep their intended label, and ``manifest.json`` records the
    checkpoint, seed, filter and the share of candidates it kept per class.
    """
    from ppgan_app.apps.gan.augment import (generate_labelled, read_manifest, select_by_fidelity,
                                            write_labelled_folder)
    from ppgan_app.apps.gan.sampler import load_generator_model
    from ppgan_app.models.classifier import predict

    if not (folder / "manifest.json").is_file():
        model = load_generator_model(checkpoint, use_ema=spec.generator == "ema")
        if model.n_class != n_class:
            raise InputError(f"{checkpoint} generates {model.n_class} classes, the data has {n_class}")
        x, y = generate_labelled(model, spec.candidates_per_class, range(n_class), seed, spec.truncation)
        manifest: Dict[str, Any] = {"checkpoint": str(checkpoint), "seed": seed, "truncation": spec.truncation,
                                    "filter": spec.filter, "candidates_per_class": spec.candidates_per_class,
                                    "generator": spec.generator}
        confidence = None
        if filter_net is not None:
            probs = predict(filter_net, resize_images(x, real_size))[1]
            confidence = probs[np.arange(len(y)), y]
            agree = probs.argmax(1) == y
            manifest["label_agreement"] = [round(float(agree[y == c].mean()), 4) for c in range(n_class)]
        if spec.filter == "classifier":
            keep = select_by_fidelity(probs, y, spec.per_class, spec.min_confidence)
            manifest.update(filter_arm=spec.filter_arm, min_confidence=spec.min_confidence)
        else:
            keep = np.concatenate([np.flatnonzero(y == c)[:spec.per_class] for c in range(n_class)])
        manifest["kept_per_class"] = np.bincount(y[keep], minlength=n_class).tolist()
        folder.parent.mkdir(parents=True, exist_ok=True)
        write_labelled_folder(folder, x[keep], y[keep], manifest,
                              confidence=None if confidence is None else confidence[keep])
    manifest = read_manifest(folder)
    if not manifest["images"]:  # the filter kept nothing: the arm trains on the real images only
        logger.warning("the filter kept no generated image in %s", folder)
        return Generated(np.zeros((0, channels, real_size, real_size), np.float32), np.zeros(0, np.int64),
                         None, manifest)
    x, y = read_image_folder(folder, channels)
    x = resize_images(x, real_size)
    weights = None
    if spec.weight == "confidence":
        from ppgan_app.datasets.image_folder import scan_image_folder
        samples, _ = scan_image_folder(folder)
        scores = manifest.get("confidence", {})
        weights = np.asarray([scores[f"{p.parent.name}/{p.name}"] for p, _ in samples], np.float32)
    return Generated(x, y, weights, manifest)


# --- the run -------------------------------------------------------------------------------------
@dataclass
class Summary:
    """What ``run_experiment`` returns: the result files and the table rows."""

    json_path: Path
    markdown_path: Path
    table: Dict[str, Any]
    computed: int  # cells computed now
    reused: int    # cells done by an earlier run
    missing: int   # cells not done (report only)


def cell_count(cfg: ExperimentConfig) -> int:
    return len(cfg.sizes) * len(cfg.seeds) * len(cfg.arms)


def run_experiment(cfg: ExperimentConfig, progress: bool = True, compute: bool = True) -> Summary:
    """Run every (size, seed, arm) cell not already done; write ``results.json`` and ``results.md``.

    ``compute=False`` only gathers the cells done so far (a report while runs are under way).
    """
    from tqdm import tqdm

    cells: List[Dict[str, Any]] = []
    computed = 0
    with tqdm(total=cell_count(cfg), desc="cells", disable=not progress, dynamic_ncols=True) as bar:
        bar.set_postfix_str("loading the data")
        data = load_data(cfg.dataset)
        check_sizes(data, cfg.sizes)
        out = Path(cfg.output_dir)
        out.mkdir(parents=True, exist_ok=True)
        for size in cfg.sizes:
            runner = _SizeRunner(cfg, data, size, out)
            for seed in cfg.seeds:
                for arm in cfg.arms:
                    bar.set_postfix_str(f"{size}/class seed {seed} {arm.name}")
                    cell, fresh = runner.cell(seed, arm, compute)
                    if cell is not None:
                        cells.append(cell)
                    computed += fresh
                    bar.update(1)
    table = summarise(cfg, cells)
    json_path, md_path = write_results(cfg, table, cells, out)
    return Summary(json_path, md_path, table, computed, len(cells) - computed, cell_count(cfg) - len(cells))


class _SizeRunner:
    """The cells of one subset size: its subset, GAN, generated sets and filter classifiers."""

    def __init__(self, cfg: ExperimentConfig, data: LabelledData, size: int, out: Path) -> None:
        self.cfg, self.data, self.size, self.out = cfg, data, size, out
        keep = per_class_subset(data.train_y, size, cfg.subset_seed)
        self.x, self.y = data.train_x[keep], data.train_y[keep]
        self.gan_key = fingerprint(cfg.dataset, cfg.subset_seed, cfg.gan)
        self.nets: Dict[Tuple[int, str], Any] = {}  # (seed, arm name) -> classifier trained in this process

    def cell(self, seed: int, arm: ArmSpec, compute: bool = True) -> Tuple[Optional[Dict[str, Any]], bool]:
        """The cell's result (read back when done before; None when not done and not ``compute``)
        and whether it was computed now."""
        uses_gan = arm.gan_share > 0
        key = fingerprint(self.cfg.dataset, self.cfg.subset_seed, self.cfg.classifier, dataclasses.replace(arm, name=""),
                          (self.gan_key, self.cfg.generate) if uses_gan else None)
        path = self.out / "cells" / f"{self.size}pc" / f"seed{seed}" / f"{key}.json"
        if path.is_file():
            cell = json.loads(path.read_text(encoding="utf-8"))
            return {**cell, "arm": arm.name}, False
        if not compute:
            return None, False
        start = time.process_time()
        gen = self._generated(seed) if uses_gan else None
        gen_seconds = time.process_time() - start
        net = self._fit(seed, arm, gen)
        acc = accuracy(net, self.data.test_x, self.data.test_y)
        cell = {"size": self.size, "seed": seed, "arm": arm.name, "accuracy": acc,
                "classifier_cpu_s": round(time.process_time() - start - gen_seconds, 1),
                "gan_cpu_s": round(gen_seconds, 1),  # GAN training (first cell of a size), generation, filter
                "generated": None if gen is None else len(gen.y),
                "generated_folder": None if gen is None else str(self._generated_folder(seed))}
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(path) as tmp:
            tmp.write_text(json.dumps(cell, indent=1) + "\n", encoding="utf-8")
        logger.info("%d/class seed %d %s: accuracy %.4f", self.size, seed, arm.name, acc)
        return cell, True

    def _fit(self, seed: int, arm: ArmSpec, gen: Optional[Generated]) -> Any:
        c = self.cfg.classifier
        opts = FitOptions(epochs=c.epochs, batch_size=c.batch_size, learning_rate=c.learning_rate,
                          augment=arm.augment, seed=seed, min_steps=c.min_steps)
        mix = MixOptions(share=arm.gan_share, schedule=arm.schedule, tail=arm.tail,
                         pretrain_epochs=arm.pretrain_epochs)
        empty = np.zeros((0,) + self.x.shape[1:], np.float32)
        net = fit_mixed(self.x, self.y, gen.x if gen else empty, gen.y if gen else np.zeros(0, np.int64),
                        gen.w if gen else None, self.data.n_class, opts, mix,
                        img_size=self.x.shape[-1], width=c.width, feature_dim=c.feature_dim)
        self.nets[(seed, arm.name)] = net
        return net

    def _generated_folder(self, seed: int) -> Path:
        g = self.cfg.generate
        filter_arm = [a for a in self.cfg.arms if a.name == g.filter_arm]
        uses_net = g.filter != "none" or g.weight != "none"
        key = fingerprint(self.gan_key, g, (self.cfg.classifier, dataclasses.replace(filter_arm[0], name=""))
                          if uses_net else None)
        return self.out / "generated" / f"{self.size}pc" / f"seed{seed}-{key}"

    def _generated(self, seed: int) -> Generated:
        g = self.cfg.generate
        gan_dir = self.out / "gans" / f"{self.size}pc-{self.gan_key}"
        checkpoint = train_gan(self.cfg.gan, self.x, self.y, self.data.n_class, gan_dir, self.cfg.subset_seed)
        folder = self._generated_folder(seed)
        net = None
        if (g.filter != "none" or g.weight != "none") and not (folder / "manifest.json").is_file():
            net = self.nets.get((seed, g.filter_arm))
            if net is None:  # the filter arm's cell was done by an earlier run: retrain it (same seed)
                arm = next(a for a in self.cfg.arms if a.name == g.filter_arm)
                net = self._fit(seed, arm, None)
        return make_generated(checkpoint, g, seed, folder, self.data.n_class, self.x.shape[-1], self.x.shape[1], net)


# --- results -------------------------------------------------------------------------------------
def summarise(cfg: ExperimentConfig, cells: Sequence[Mapping[str, Any]]) -> Dict[str, Any]:
    """Per size and arm: accuracies over seeds, mean and sample std (ddof 1; 0 for one seed)."""
    table: Dict[str, Any] = {}
    for size in cfg.sizes:
        row = {}
        for arm in cfg.arms:
            accs = [c["accuracy"] for c in cells if c["size"] == size and c["arm"] == arm.name]
            row[arm.name] = {"mean": float(np.mean(accs)) if accs else None,
                             "std": float(np.std(accs, ddof=1)) if len(accs) > 1 else 0.0,
                             "n": len(accs), "accuracies": [round(a, 4) for a in accs]}
        row["verdict"] = verdict(cfg, row)
        table[str(size)] = row
    return table


def verdict(cfg: ExperimentConfig, row: Mapping[str, Any]) -> Dict[str, Any]:
    """Best GAN arm against the best arm without GAN images: the margin, and whether it exceeds
    twice the larger of their standard deviations."""
    plain = [a.name for a in cfg.arms if not a.gan_share and row[a.name]["n"]]
    gan = [a.name for a in cfg.arms if a.gan_share and row[a.name]["n"]]
    if not plain or not gan:
        return {}
    best_plain = max(plain, key=lambda n: row[n]["mean"])
    best_gan = max(gan, key=lambda n: row[n]["mean"])
    margin = row[best_gan]["mean"] - row[best_plain]["mean"]
    bar = 2 * max(row[best_gan]["std"], row[best_plain]["std"])
    return {"best_gan": best_gan, "best_without_gan": best_plain, "margin": round(margin, 4),
            "twice_larger_std": round(bar, 4), "gan_helps": bool(margin > bar)}


def markdown_table(cfg: ExperimentConfig, table: Mapping[str, Any], cpu: Mapping[str, float]) -> str:
    """The results as a Markdown table (mean +- std over seeds) with the verdict per size."""
    names = [a.name for a in cfg.arms]
    lines = [f"Test accuracy, mean ± std over seeds {list(cfg.seeds)} (data: {cfg.dataset.name}).", "",
             "| real per class | " + " | ".join(names) + " | GAN − best other | GAN helps (> 2 std) |",
             "|---:|" + "---:|" * len(names) + "---:|:---:|"]
    for size, row in table.items():
        v = row["verdict"]
        cells = [f"{row[n]['mean']:.4f} ± {row[n]['std']:.4f}" + (f" ({row[n]['n']})" if row[n]["n"] < len(cfg.seeds)
                                                                 else "") if row[n]["n"] else "–" for n in names]
        extra = [f"{v['margin']:+.4f}", "yes" if v["gan_helps"] else "no"] if v else ["", ""]
        lines.append(f"| {size} | " + " | ".join(cells + extra) + " |")
    if any(row[n]["n"] < len(cfg.seeds) for row in table.values() for n in names):
        lines += ["", "(k): mean of the k seeds done so far; –: no seed done."]
    lines += ["", f"CPU seconds of the cells (summed over the runs that computed them): classifiers "
                  f"{cpu['classifiers']:.0f}; GAN training, generation and filtering {cpu['gan']:.0f}."]
    return "\n".join(lines) + "\n"


def write_results(cfg: ExperimentConfig, table: Mapping[str, Any], cells: Sequence[Mapping[str, Any]],
                  out: Path) -> Tuple[Path, Path]:
    """``results.json`` and ``results.md`` under ``out``, each written atomically."""
    cpu = {"classifiers": sum(c["classifier_cpu_s"] for c in cells), "gan": sum(c["gan_cpu_s"] for c in cells)}
    payload = {"config": _plain(cfg), "table": table, "cells": list(cells), "cpu_seconds": cpu}
    json_path, md_path = out / "results.json", out / "results.md"
    with atomic_output(json_path) as tmp:
        tmp.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    with atomic_output(md_path) as tmp:
        tmp.write_text(markdown_table(cfg, table, cpu), encoding="utf-8")
    return json_path, md_path

