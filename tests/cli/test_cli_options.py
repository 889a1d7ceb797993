"""ppgan_app.cli.options: every command line's flags come from its options dataclass, and every
front end in tools/ and applications/tools/ is a thin ``main(argv=None)`` with a console script."""
import ast
import dataclasses
import importlib
import importlib.util
import inspect
import re
from pathlib import Path

import pytest

from ppgan_app.cli.options import flag_spellings, help_text
from ppgan_app.utils.options import SAME, flag_of

REPO = Path(__file__).resolve().parents[2]
#: Developer tools run from a checkout only (not installed as console scripts).
DEVELOPER_TOOLS = {"tools/face_crop_convention.py",   # developer tool, run from a checkout
                   "tools/face_calibration.py"}       # its fitting library


def _tool_module(relative: str):
    spec = importlib.util.spec_from_file_location(Path(relative).stem, REPO / relative)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _clis():
    """``(name, parser, option classes, skipped fields)`` of every command line."""
    from ppgan_app.apps.expression_transfer.options import TransferOptions
    from ppgan_app.apps.live.options import LiveOptions
    from ppgan_app.cli import (augmentation_experiment, evaluate_fomm, evaluate_sr,
                               export_model, first_order, generate, live, motion_dataset,
                               quality, super_resolution, train, web)

    yield "train", train.build_parser(), [train.TrainOptions], ()
    sub = next(a for a in generate.build_parser()._actions if a.dest == "command")
    for name, cls in generate.COMMANDS.items():
        yield f"generate {name}", sub.choices[name], [cls], ()
    yield "gan_quality", quality.quality_parser(), [quality.QualityOptions], ()
    yield "train_classifier", quality.classifier_parser(), [quality.ClassifierOptions], ()
    yield "evaluate_fomm", evaluate_fomm.build_parser(), [evaluate_fomm.EvaluateOptions], ()
    yield "export_model", export_model.build_parser(), [export_model.ExportOptions], ()
    yield "motion_dataset", motion_dataset.build_parser(), [motion_dataset.MotionDatasetOptions], ()
    yield ("super_resolution", super_resolution.build_parser(),
           [super_resolution.SuperResolutionOptions], ())
    yield "evaluate_sr", evaluate_sr.build_parser(), [evaluate_sr.EvaluateSROptions], ()
    yield "live", live.build_parser(), [LiveOptions, live.LiveConsoleFlags], ()
    yield ("augmentation_experiment", augmentation_experiment.build_parser(),
           [augmentation_experiment.ExperimentOptions], ())
    yield ("first_order", first_order.build_parser(),
           [first_order.DemoInputs, TransferOptions, first_order.ConsoleFlags], ())
    yield ("web", web.build_parser(), [web.WebOptions, TransferOptions, first_order.ConsoleFlags],
           ("output", "filename"))
    tool = _tool_module("tools/face_crop_convention.py")
    yield "face_crop_convention", tool.build_parser(), [tool.ConventionOptions], ()


CLIS = {name: (parser, classes, skip) for name, parser, classes, skip in _clis()}


def test_every_cli_module_is_checked():
    """A new command line joins _clis() above, so its --help is checked against its dataclass."""
    modules = {p.stem for p in (REPO / "ppgan_app" / "cli").glob("*.py")} - {
        "__init__", "common", "options"}
    named = {name.split()[0] for name in CLIS} | {"quality"}  # gan_quality, train_classifier
    named = {{"gan_quality": "quality", "train_classifier": "quality"}.get(n, n) for n in named}
    assert modules - named == set()


def _shown_default(f):
    if f.default is None or isinstance(f.default, bool) or f.default == ():
        return None
    return " ".join(map(str, f.default)) if isinstance(f.default, tuple) else str(f.default)


@pytest.mark.parametrize("name", sorted(CLIS))
def test_help_defaults_come_from_the_dataclass(name):
    parser, classes, skip = CLIS[name]
    text = " ".join(parser.format_help().split())
    actions = {s: a for a in parser._actions for s in a.option_strings}
    fields = [f for cls in classes for f in dataclasses.fields(cls)
              if f.metadata.get("cli", True) and f.name not in skip]
    for f in fields:
        action = actions[flag_of(f)]
        assert action.dest == f.name
        assert action.default in (f.default, "==SUPPRESS=="), (flag_of(f), action.default)
        assert " ".join(help_text(f).replace("%%", "%").split()) in text, flag_of(f)
        shown = _shown_default(f)
        if shown is not None:
            assert f"default: {shown}" in help_text(f)
        paddlegan = f.metadata.get("paddlegan", SAME)
        if paddlegan is not SAME:
            assert f"PaddleGAN: {paddlegan}" in help_text(f)
        for alias in flag_spellings(f)[1]:  # hidden aliases reach the same field, unseen
            assert actions[alias].dest == f.name
            assert not re.search(rf"(?<![\w-]){re.escape(alias)}(?![\w-])", text), alias
    flags = {s for a in parser._actions for s in a.option_strings} - {"-h", "--help"}
    known = {s for f in fields for group in flag_spellings(f) for s in group}
    known |= {f"--no-{flag_of(f)[2:]}" for f in fields if f.default is True}  # --no-audio
    assert flags <= known, f"flags without a dataclass field: {sorted(flags - known)}"


@pytest.mark.parametrize("name", sorted(CLIS))
def test_multi_word_flags_have_one_shown_spelling_and_both_accepted(name):
    parser, classes, skip = CLIS[name]
    for f in (f for cls in classes for f in dataclasses.fields(cls)):
        shown, hidden = flag_spellings(f)
        flag = flag_of(f)
        if "_" in flag[2:] or "-" in flag[2:]:
            twin = "--" + re.sub(r"[-_]", lambda m: "-" if m.group() == "_" else "_", flag[2:])
            if not (f.default is True):  # --audio/--no-audio is argparse's own pair
                assert twin in hidden, (flag, hidden)


def test_parsed_defaults_equal_the_dataclass_defaults():
    from ppgan_app.cli.options import options_from
    from ppgan_app.cli.train import TrainOptions, build_parser

    assert options_from(TrainOptions, build_parser().parse_args([])) == TrainOptions()


def test_library_defaults_agree_with_the_cli():
    """Where a CLI passes an option on to a library function, the defaults are the same."""
    from ppgan_app.apps.fomm_training import motion_dataset
    from ppgan_app.apps.gan import sampler as gan_sampler
    from ppgan_app.apps.gan.augment import write_augmented_dataset
    from ppgan_app.cli.generate import AugmentOptions, ImagesOptions, InterpolateOptions
    from ppgan_app.apps.super_resolution import SuperResolutionPredictor
    from ppgan_app.cli.motion_dataset import MotionDatasetOptions
    from ppgan_app.cli.super_resolution import SuperResolutionOptions

    pairs = [(MotionDatasetOptions, motion_dataset.make_motion_dataset),
             (SuperResolutionOptions, SuperResolutionPredictor),  # output: a file here, a folder there
             (ImagesOptions, gan_sampler.generate_samples),
             (InterpolateOptions, gan_sampler.interpolation_strip),
             (AugmentOptions, write_augmented_dataset)]
    for cls, function in pairs:
        signature = inspect.signature(function).parameters
        shared = [f for f in dataclasses.fields(cls) if f.name in signature
                  and (cls, f.name) != (SuperResolutionOptions, "output")
                  and signature[f.name].default is not inspect.Parameter.empty]
        assert shared, function.__name__
        for f in shared:
            assert signature[f.name].default == f.default, (function.__name__, f.name)


def _front_ends():
    return sorted(str(p.relative_to(REPO)) for pattern in ("tools/*.py", "applications/tools/*.py")
                  for p in REPO.glob(pattern))


def _console_scripts():
    tree = ast.parse((REPO / "setup.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "entry_points":
            scripts = ast.literal_eval(node.value)["console_scripts"]
            return dict(s.replace(" ", "").split("=") for s in scripts)
    raise AssertionError("setup.py has no entry_points")


@pytest.mark.parametrize("relative", [t for t in _front_ends() if t not in DEVELOPER_TOOLS])
def test_front_end_is_a_thin_main_with_a_console_script(relative):
    tree = ast.parse((REPO / relative).read_text())
    imported = {}
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the docstring
        if isinstance(node, ast.ImportFrom):
            imported.update({a.asname or a.name: f"{node.module}:{a.name}" for a in node.names})
            continue
        if isinstance(node, ast.Import):
            continue
        assert isinstance(node, ast.If) and "__main__" in ast.unparse(node.test), \
            f"{relative}: only imports and the __main__ guard belong in a front end"
        call = ast.unparse(node.body[0])
    name = re.fullmatch(r"sys\.exit\((\w+)\(\)\)", call).group(1)
    target = imported[name]
    assert target.startswith("ppgan_app.cli."), target
    assert target in _console_scripts().values(), f"{relative}: no console script for {target}"
    module, function = target.split(":")
    main = getattr(importlib.import_module(module), function)
    params = inspect.signature(main).parameters
    assert list(params) == ["argv"] and params["argv"].default is None


def test_console_scripts_are_front_ends_and_named_ppgan():
    scripts = _console_scripts()
    assert all(name.startswith("ppgan-") for name in scripts)
    for target in scripts.values():
        module, function = target.split(":")
        assert list(inspect.signature(getattr(importlib.import_module(module), function))
                    .parameters) == ["argv"]


def test_developer_tool_has_the_same_main_shape():
    main = _tool_module("tools/face_crop_convention.py").main
    params = inspect.signature(main).parameters
    assert list(params) == ["argv"] and params["argv"].default is None
