"""ppgan_app.utils.process: one process policy (threads by CPU affinity, device, engine list)."""
import logging
import os
import re
from pathlib import Path

import pytest

from ppgan_app.errors import InputError
from ppgan_app.utils import process
from ppgan_app.utils.process import (ENGINES, apply_process_policy, check_threads, cpu_threads,
                                     prepare_process)

PACKAGE = Path(process.__file__).resolve().parents[1]


def test_cpu_threads_follow_affinity_and_processes(monkeypatch):
    monkeypatch.delenv("PADDLE_TRAINERS_NUM", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert cpu_threads() == 1  # taskset -c 0: one core, whatever the machine has
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    assert cpu_threads() == 8
    monkeypatch.setenv("PADDLE_TRAINERS_NUM", "4")
    assert cpu_threads() == 2
    assert cpu_threads(processes=16) == 1


@pytest.mark.parametrize("threads", [0, -1, 1025])
def test_thread_counts_out_of_range_are_input_errors(threads):
    with pytest.raises(InputError, match=r"--threads must be in 1..1024"):
        check_threads(threads)


def test_policy_sets_device_and_threads(monkeypatch):
    import paddle

    counts = []
    monkeypatch.setattr(paddle.base.core, "set_num_threads", counts.append)
    policy = apply_process_policy(None, "cpu")
    assert policy.threads == cpu_threads() and counts == [cpu_threads()]
    assert paddle.get_device() == "cpu"
    assert apply_process_policy(3).threads == 3 and counts[-1] == 3
    with pytest.raises(InputError, match="unknown device 'tpu'; choose from cpu, gpu, xpu"):
        apply_process_policy(1, "tpu")


def test_prepare_process_after_paddle_says_nothing(caplog):
    import paddle  # noqa: F401 - a second main() in one process, or a notebook

    with caplog.at_level(logging.DEBUG):
        prepare_process()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def _sources():
    return {p: p.read_text(encoding="utf-8") for p in PACKAGE.rglob("*.py")}


def test_one_thread_policy_and_one_engine_list_in_the_package():
    """Only the policy module sets Paddle's threads or counts cores; one engine list."""
    owner = Path(process.__file__).resolve()
    for path, text in _sources().items():
        if path == owner:
            continue
        assert "set_num_threads(" not in text and "omp_set_num_threads" not in text, path
        assert "sched_getaffinity" not in text and "os.cpu_count" not in text, path
        assert not re.search(r"""\(\s*["']auto["'],\s*["']dygraph["'],\s*["']fast["']""",
                             text), path
    assert ENGINES == ("auto", "dygraph", "fast", "openvino")
