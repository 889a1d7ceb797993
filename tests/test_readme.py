"""The README's quick start stays true: CI runs its install and test commands verbatim."""
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def quick_start_commands() -> list:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Quick start\s+```bash\n(.*?)```", readme, re.S)
    assert block, "README.md has no '## Quick start' bash block"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_ci_runs_the_readme_install_and_test_commands():
    install, main_job, tests = quick_start_commands()
    ci = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    assert install in ci and tests in ci
    assert ci.index(install) < ci.index(tests)


def test_the_main_job_command_names_a_real_script_and_real_flags():
    _, main_job, _ = quick_start_commands()
    script, *flags = main_job.split()[1:]
    assert (REPO / script).is_file()
    from ppgan_app.cli.first_order import build_parser

    build_parser().parse_args(flags)  # exits (fails the test) on an unknown flag
