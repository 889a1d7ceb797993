"""Data parallel: two CPU processes through paddle.distributed.launch (gloo), and the 1-process path."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import paddle

from ppgan_app.engine.dist import init_distributed, launched_world_size, unwrap, wrap_nets
from ppgan_app.models.base_model import BaseModel

WORKER = textwrap.dedent("""
    import sys
    import numpy as np
    import paddle
    from ppgan_app.engine import Trainer
    from ppgan_app.engine.dist import unwrap
    from ppgan_app.utils.config import load_config

    paddle.set_device("cpu")
    trainer = Trainer(load_config(sys.argv[1], sys.argv[3:]), name="dist")
    trainer.train()
    state = {f"{n}.{k}": v.numpy() for n, net in trainer.model.nets.items()
             for k, v in unwrap(net).state_dict().items()}
    np.savez(f"{sys.argv[2]}/rank{trainer.rank}.npz", **state)
""")


def test_two_cpu_processes_keep_identical_weights(make_cfg, tmp_path):
    import yaml
    cfg = make_cfg(total_iters=3)
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(cfg))
    (tmp_path / "worker.py").write_text(WORKER)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PADDLE_")}
    proc = subprocess.run(
        [sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2",
         "--log_dir", str(tmp_path / "log"), str(tmp_path / "worker.py"), str(tmp_path / "cfg.yaml"),
         str(tmp_path), "log_config.interval=0"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    logs = "".join(p.read_text() for p in sorted((tmp_path / "log").glob("workerlog.*")))
    assert proc.returncode == 0, logs[-3000:]
    ranks = [np.load(tmp_path / f"rank{r}.npz") for r in (0, 1)]
    learned = [k for k in ranks[0].files if not k.endswith(("_mean", "_variance"))]
    assert len(learned) > 10 and any(k.endswith("_mean") for k in ranks[0].files)
    for key in learned:  # different data shards and noise per rank: equal only if grads are averaged
        np.testing.assert_array_equal(ranks[0][key], ranks[1][key], err_msg=key)
    # batch-norm running statistics are per process (no SyncBatchNorm on CPU); rank 0's are saved
    assert "2 process(es)" in logs
    run_dirs = list((tmp_path / "out").iterdir())
    assert len(run_dirs) == 1 and (run_dirs[0] / "iter_0000003_checkpoint.pdparams").is_file()  # rank 0 only


class _Model(BaseModel):
    def __init__(self):
        super().__init__()
        self.nets["net"] = paddle.nn.Linear(2, 1)
        self.net = self.nets["net"]


def test_single_process_path(monkeypatch):
    monkeypatch.delenv("PADDLE_TRAINERS_NUM", raising=False)
    assert launched_world_size() == 1 and init_distributed() == (0, 1)


def test_wrap_and_unwrap():
    model = _Model()
    inner = model.nets["net"]
    wrap_nets(model)
    assert isinstance(model.nets["net"], paddle.DataParallel) and model.net is model.nets["net"]
    assert unwrap(model.nets["net"]) is inner and unwrap(inner) is inner
    assert list(unwrap(model.nets["net"]).state_dict()) == ["weight", "bias"]


FOMM_WORKER = textwrap.dedent("""
    import sys
    import numpy as np
    import paddle
    from ppgan_app.engine import Trainer
    from ppgan_app.utils.config import load_config

    paddle.set_device("cpu")
    trainer = Trainer(load_config(sys.argv[1], sys.argv[3:]), name="dist")
    model = trainer.model
    assert isinstance(model.gen_full, paddle.DataParallel), type(model.gen_full)
    learned = lambda: {f"{n}.{k}": v.numpy().copy() for n, net in model.nets.items()
                       for k, v in net.named_parameters() if not v.stop_gradient}  # not BN stats
    start = learned()
    trainer.train()
    state = learned()
    moved = [k for k in state if not np.array_equal(state[k], start[k])]
    np.savez(f"{sys.argv[2]}/rank{trainer.rank}.npz", moved=np.array(moved), **state)
""")


def test_fomm_trains_data_parallel_in_two_processes(tmp_path):
    """FOMM trains through gen_full/dis_full: those must be what DataParallel wraps, or the
    ranks drift apart (different data shards and random warps per rank)."""
    import cv2

    from ppgan_app.apps.fomm_training.motion_dataset import Still, make_motion_dataset
    rng = np.random.default_rng(0)
    stills = [Still(f"s{i}", cv2.GaussianBlur(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8), (5, 5), 0))
              for i in range(4)]
    make_motion_dataset(tmp_path / "data", stills, size=32, frames=4, train_clips=2, test_clips=1,
                        test_fraction=0.25, seed=0, landmarks=False)
    config = os.path.join(os.path.dirname(__file__), "..", "fixtures", "fomm", "tiny_train.yaml")
    (tmp_path / "worker.py").write_text(FOMM_WORKER)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PADDLE_")}
    proc = subprocess.run(
        [sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2",
         "--log_dir", str(tmp_path / "log"), str(tmp_path / "worker.py"), config, str(tmp_path),
         f"dataset.train.dataroot={tmp_path / 'data'}", f"dataset.test.dataroot={tmp_path / 'data'}",
         f"output_dir={tmp_path / 'out'}", "total_iters=2", "log_config.interval=0",
         "snapshot_config.interval=0"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    logs = "".join(p.read_text() for p in sorted((tmp_path / "log").glob("workerlog.*")))
    assert proc.returncode == 0, logs[-3000:]
    ranks = [np.load(tmp_path / f"rank{r}.npz") for r in (0, 1)]
    moved = set(ranks[0]["moved"].tolist())
    for net in ("kp_detector", "generator", "discriminator"):   # every net trained
        assert any(k.startswith(net + ".") for k in moved), net
    params = [k for k in ranks[0].files if k != "moved"]
    assert len(params) > 50
    for key in params:   # equal only if the gradients were averaged across the ranks
        np.testing.assert_array_equal(ranks[0][key], ranks[1][key], err_msg=key)
