"""OrderedStage: order kept, queue bounded, worker errors re-raised, cancellation stops the worker."""
from __future__ import annotations

import threading
import time
from typing import List

import pytest

from ppgan_app.errors import OutputError
from ppgan_app.utils.ordered_stage import OrderedStage


def test_every_item_once_in_order_on_another_thread():
    seen: List[int] = []
    threads = set()

    def work(item: int) -> None:
        time.sleep(0.001 * (item % 3))        # uneven work must not reorder anything
        threads.add(threading.get_ident())
        seen.append(item)

    with OrderedStage(work, max_pending=3) as stage:
        for i in range(200):
            stage.submit(i)
        stage.close()
    assert seen == list(range(200))
    assert threads and threading.get_ident() not in threads


def test_queue_is_bounded():
    release = threading.Event()
    started = threading.Event()

    def work(item: int) -> None:
        started.set()
        release.wait(5)

    with OrderedStage(work, max_pending=2) as stage:
        stage.submit(0)
        started.wait(5)                       # item 0 is in the worker, the queue is empty
        stage.submit(1)
        stage.submit(2)
        blocked = threading.Thread(target=stage.submit, args=(3,))
        blocked.start()
        blocked.join(0.3)
        assert blocked.is_alive(), "a third waiting item must block the submitter"
        release.set()
        blocked.join(5)
        assert not blocked.is_alive()
        stage.close()


def test_worker_error_is_raised_in_the_submitter_with_its_type():
    def work(item: int) -> None:
        if item == 3:
            raise OutputError("disk full")

    with pytest.raises(OutputError, match="disk full"):
        with OrderedStage(work, max_pending=1) as stage:
            for i in range(100):
                stage.submit(i)
            stage.close()


def test_close_raises_an_error_of_the_last_item():
    def work(item: int) -> None:
        raise OutputError(f"item {item}")

    with pytest.raises(OutputError, match="item 0"):
        with OrderedStage(work) as stage:
            stage.submit(0)
            stage.close()


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, SystemExit])
def test_interrupt_drops_queued_items_and_joins_the_worker(interrupt):
    done: List[int] = []
    first = threading.Event()

    def work(item: int) -> None:
        first.set()
        time.sleep(0.05)
        done.append(item)

    stage = OrderedStage(work, max_pending=4)
    with pytest.raises(interrupt):
        with stage:
            for i in range(5):
                stage.submit(i)
            first.wait(5)
            raise interrupt()
    assert not stage._thread.is_alive()      # joined before the caller's clean-up runs
    assert done == list(range(len(done))) and len(done) < 5


def test_rejects_an_empty_queue():
    with pytest.raises(ValueError):
        OrderedStage(print, max_pending=0)

