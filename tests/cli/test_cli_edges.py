"""Bad values at every command line's edge: one line, exit 2, before any work or folder."""
import dataclasses

import pytest

from ppgan_app.cli import evaluate_fomm, export_model, generate, motion_dataset, quality, train

CONFIG = "configs/dcgan_fashion_mnist.yaml"


def _mains(tmp):
    out, ckpt = str(tmp / "out"), str(tmp / "missing.pdparams")
    return {
        "train": (train.main, ["-c", CONFIG]),
        "generate images": (generate.main, ["images", "--checkpoint", ckpt, "--num", "2",
                                             "--output", out]),
        "generate grid": (generate.main, ["grid", "--checkpoint", ckpt, "--output", out + ".png"]),
        "generate interpolate": (generate.main, ["interpolate", "--checkpoint", ckpt,
                                                 "--output", out + ".png"]),
        "generate augment": (generate.main, ["augment", "--checkpoint", ckpt, "--per_class", "2",
                                             "--output", out]),
        "gan_quality": (quality.quality_main, ["--checkpoint", ckpt, "--classifier", ckpt,
                                               "--data_root", str(tmp)]),
        "train_classifier": (quality.train_classifier_main, ["--data_root", str(tmp), "--output",
                                                             out + ".pdparams"]),
        "evaluate_fomm": (evaluate_fomm.main, ["--checkpoint", ckpt, "--videos", str(tmp)]),
        "motion_dataset": (motion_dataset.main, ["--output", out]),
    }


def _one_error_line(capsys):
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


@pytest.mark.parametrize("tool", sorted(_mains(__import__("pathlib").Path("."))))
@pytest.mark.parametrize("flag, value, message", [
    ("--seed", "-1", "--seed must be in 0..4294967295, got -1"),
    ("--threads", "0", "--threads must be in 1..1024, got 0"),
])
def test_bad_values_are_refused_before_any_work(tool, flag, value, message, tmp_path, capsys):
    main, argv = _mains(tmp_path)[tool]
    if flag == "--threads" and tool == "motion_dataset":
        pytest.skip("motion_dataset has no --threads (it runs no network)")
    assert main(argv + [flag, value]) == 2
    assert message in _one_error_line(capsys)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv, message", [
    (["grid", "--num", "1025"], "--num must be in 1..1024, got 1025"),
    (["images", "--num", "2000", "--grid", "g.png"], "one grid holds at most 1024; 2000 asked"),
    (["interpolate", "--steps", "1"], "--steps must be in 2..256"),
    (["augment", "--per_class", "2", "--real_per_class", "3"], "--real_per_class needs"),
])
def test_generate_limits(argv, message, tmp_path, capsys):
    command, rest = argv[0], argv[1:]
    out = ["--output", str(tmp_path / ("o.png" if command in ("grid", "interpolate") else "o"))]
    needs_num = ["--num", "2"] if command == "images" and "--num" not in rest else []
    full = [command, "--checkpoint", str(tmp_path / "c.pdparams"), *out, *needs_num, *rest]
    assert generate.main(full) == 2
    assert message in _one_error_line(capsys)
    assert list(tmp_path.iterdir()) == []


def test_unknown_flag_and_missing_required_flag_are_one_line(tmp_path, capsys):
    assert export_model.main(["--load", "x", "--output_dir", str(tmp_path / "e"), "--bogus"]) == 2
    assert "unrecognized arguments: --bogus" in _one_error_line(capsys)
    assert export_model.main([]) == 2
    assert "the following arguments are required: --load" in _one_error_line(capsys)


def test_old_and_paddlegan_spellings_reach_the_same_option():
    from ppgan_app.cli.options import options_from

    parser = export_model.build_parser()
    kit = options_from(export_model.ExportOptions, parser.parse_args(
        ["--checkpoint", "c", "--output", "o", "--config", "y.yaml", "--image-size", "64"]))
    paddlegan = options_from(export_model.ExportOptions, parser.parse_args(
        ["--load", "c", "--output_dir", "o", "-c", "y.yaml", "-s", "1,3,64,64;1,10,2;1,10,2,2"]))
    assert kit == dataclasses.replace(paddlegan, inputs_size=None)
    assert kit.load == "c" and kit.output_dir == "o" and kit.config_file == "y.yaml"


def test_paddlegan_inputs_size_contradicting_image_size_is_refused(tmp_path, capsys):
    argv = ["--load", "c", "--output_dir", str(tmp_path / "e"), "-s", "1,3,64,64",
            "--image_size", "128"]
    assert export_model.main(argv) == 2
    assert "gives 64 px frames but --image_size says 128" in _one_error_line(capsys)


def test_train_total_iters_beyond_the_schema_is_refused_at_load(tmp_path, capsys):
    code = train.main(["-c", CONFIG, "--dry-run", "-o", "total_iters=100000000000000000000000"])
    assert code == 2
    assert "total_iters=100000000000000000000000 is not valid" in _one_error_line(capsys)


def test_no_internal_warning_reaches_users(capsys, caplog):
    """A second run in one process (notebooks, tests) prints no apply_cpu_env() warning."""
    for _ in range(2):
        assert train.main(["-c", CONFIG, "--dry-run", "-o", "total_iters=3"]) == 0
    captured = capsys.readouterr()
    assert "apply_cpu_env" not in captured.err + captured.out + caplog.text


def test_a_bad_value_after_a_device_check_is_still_one_line(tmp_path):
    """--device imports Paddle while the flags are checked: its warnings stay hidden and MKL's
    variables are set first (a fresh process, as a user starts it)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k != "MKL_DEBUG_CPU_TYPE"}
    env["PYTHONPATH"] = str(repo)
    code = ("import os, sys; from ppgan_app.cli.first_order import main; "
            "code = main(['--device', 'cpu', '--batch_size', '0']); "
            "from ppgan_app.utils.cpu_env import recommended_cpu_env; "
            "assert all(os.environ.get(k) == v for k, v in recommended_cpu_env().items()); "
            "sys.exit(code)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == ["error: --batch_size must be >= 1, got 0"]
