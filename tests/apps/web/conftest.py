"""One ``ppgan-app`` server for the web tests of a session: the tiny random-weight FOMM, a tiny
conditional GAN checkpoint (Fashion-MNIST's classes), a 2 MB upload limit, 3 jobs waiting at most; and the check that
it left no temp folder once stopped."""
import pytest

import browser_helpers as bh
from app_helpers import tiny_gan_checkpoint




GRADIO_HINT = "the web app needs Gradio: pip install -r requirements.txt"


@pytest.fixture(scope="session")
def web_server(tmp_path_factory, tiny_fomm):
    pytest.importorskip("gradio", reason=GRADIO_HINT)
    temp = tmp_path_factory.mktemp("web_server")
    gan = tiny_gan_checkpoint(tmp_path_factory.mktemp("web_gan"), n_class=10)
    proc, url = bh.start_server([*bh.served_model_args(tiny_fomm), "--gan_checkpoint", gan,
                                 "--max_upload_mb", str(bh.UPLOAD_MB),
                                 "--queue_size", str(bh.QUEUE_SIZE)], bh.server_env(temp))
    yield {"proc": proc, "url": url, "temp": temp}
    code = bh.stop(proc)
    assert code == 143, f"the server exited {code} on SIGTERM"
    assert not list(temp.glob("ppgan-app-*")), "the server left its temp folder"
