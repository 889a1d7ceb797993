"""tools/gan_quality.py and apps.gan.quality: figures of a checkpoint with the real floor beside them."""
import json

import numpy as np

from ppgan_app.apps.gan.quality import evaluate_checkpoint
from ppgan_app.cli.quality import quality_main
from ppgan_app.datasets.mnist import write_idx
from test_gan_sampler import cond_ckpt  # noqa: F401 - fixture
from tests.metrics.test_metric_classifier_features import tiny_classifier


def tiny_idx(folder, n=40):
    folder.mkdir()
    rng = np.random.RandomState(0)
    for prefix in ("train", "t10k"):
        write_idx(str(folder / f"{prefix}-images-idx3-ubyte"), rng.randint(0, 256, (n, 28, 28)).astype(np.uint8))
        write_idx(str(folder / f"{prefix}-labels-idx1-ubyte"), (np.arange(n) % 10).astype(np.uint8))
    return folder


def test_report_and_cli(cond_ckpt, tmp_path, capsys):  # noqa: F811
    data, clf = tiny_idx(tmp_path / "data"), tiny_classifier(tmp_path / "clf.pdparams")
    report = evaluate_checkpoint(cond_ckpt, clf, data, num=30)
    assert report.size == 32 and report.num == 30 and 0 <= report.label_accuracy <= 1
    assert report.generated["fd"] > 0 and 0 <= report.generated["precision"] <= 1
    assert report.floor["fd"] >= 0 and set(report.floor) == set(report.generated)
    out = tmp_path / "q.json"
    assert quality_main(["--checkpoint", str(cond_ckpt), "--classifier", str(clf), "--data_root", str(data),
                         "--num", "30", "--json", str(out)]) == 0
    saved = json.loads(out.read_text())[str(cond_ckpt)]
    assert saved["generated"] == report.generated and saved["floor"] == report.floor
    assert "real floor: fd" in capsys.readouterr().out


def test_missing_files_fail_before_work(cond_ckpt, tmp_path, capsys):  # noqa: F811
    code = quality_main(["--checkpoint", str(cond_ckpt), str(tmp_path / "b.pdparams"), "--classifier",
                         str(tmp_path / "c.pdparams"), "--data_root", str(tmp_path)])
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error")]
    assert code == 2 and len(err) == 1 and "b.pdparams" in err[0] and "train_classifier" in err[0]


def test_inception_figures_beside_the_classifier_ones(cond_ckpt, tmp_path, monkeypatch):  # noqa: F811
    """With the (stand-in) Inception network the report and its floor carry ``fid``."""
    from ppgan_app.models.inception import FIDInceptionV3
    from tests.metrics.test_metric_inception import _stand_in_state

    data, clf = tiny_idx(tmp_path / "data"), tiny_classifier(tmp_path / "clf.pdparams")
    net = FIDInceptionV3(input_size=75)
    net.set_state_dict(_stand_in_state())
    net.eval()
    report = evaluate_checkpoint(cond_ckpt, clf, data, num=12, inception=net)
    assert report.generated["fid"] > 0 and report.floor["fid"] >= 0 and "is" not in report.generated


def test_missing_inception_weights_fail_before_work(cond_ckpt, tmp_path, monkeypatch, capsys):  # noqa: F811
    from ppgan_app.utils import download

    monkeypatch.setenv(download.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(download, "_open_url", lambda url, timeout: (_ for _ in ()).throw(OSError("offline")))
    monkeypatch.setattr(download, "_sleep", lambda seconds: None)
    clf = tiny_classifier(tmp_path / "clf.pdparams")
    out = tmp_path / "q.json"
    code = quality_main(["--checkpoint", str(cond_ckpt), "--classifier", str(clf), "--data_root", str(tmp_path),
                         "--inception", "--json", str(out)])
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error")]
    assert code == 2 and len(err) == 1 and "InceptionV3.pdparams" in err[0] and not out.exists()
