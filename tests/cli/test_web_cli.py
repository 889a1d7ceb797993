"""``ppgan-app``'s engine policy: ``--engine auto`` on the CPU puts the fastest engine first
(a server never forks training workers); an engine the user named is kept."""
import pytest

from ppgan_app.apps.expression_transfer.options import TransferOptions
from ppgan_app.cli.web import parse, serving_engine
from ppgan_app.inference.engines import engine_installed


@pytest.mark.skipif(not engine_installed("openvino"), reason="needs openvino "
                    "(pip install -r requirements.txt)")
def test_auto_on_the_cpu_serves_with_openvino(caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="ppgan_app.web"):
        options = serving_engine(parse(["--device", "cpu"]).options)
    assert options.engine == "openvino"
    assert "--engine auto: openvino (the fastest CPU engine)" in caplog.text


def test_a_named_engine_is_kept():
    for engine in ("fast", "dygraph"):
        options = TransferOptions(engine=engine, device="cpu")
        assert serving_engine(options) is options
