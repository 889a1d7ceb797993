"""The README's commands stay true: CI runs its install, browser-install and test commands
verbatim."""
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def bash_block(heading: str) -> list:
    """The commands of the first bash block after ``heading`` in the README (comments cut)."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(re.escape(heading) + r"\s.*?```bash\n(.*?)```", readme, re.S)
    assert block, f"README.md has no bash block after {heading!r}"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def quick_start_commands() -> list:
    return bash_block("## Quick start")


def ci_lines() -> list:
    return [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]


def test_ci_runs_the_readme_install_and_test_commands():
    install, main_job, tests = quick_start_commands()
    ci = ci_lines()
    assert install in ci and tests in ci
    assert ci.index(install) < ci.index(tests)


def test_the_main_job_command_names_a_real_script_and_real_flags():
    _, main_job, _ = quick_start_commands()
    script, *flags = main_job.split()[1:]
    assert (REPO / script).is_file()
    from ppgan_app.cli.first_order import build_parser

    build_parser().parse_args(flags)  # exits (fails the test) on an unknown flag


def test_ci_installs_the_browser_with_the_readme_command_when_it_is_missing():
    install_browser, run_browser_test = bash_block("### Testing the page in a browser")
    ci = ci_lines()
    _, _, tests = quick_start_commands()
    assert install_browser in ci, ".ci/run must install the browser as the README says"
    at = ci.index(install_browser)
    assert ci[at - 1] == "if [ ! -x /usr/bin/chromedriver ]; then" and ci[at + 1] == "fi"
    assert at < ci.index(tests)
    assert (REPO / run_browser_test.split()[-1]).is_file()
