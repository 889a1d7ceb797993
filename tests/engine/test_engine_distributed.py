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
