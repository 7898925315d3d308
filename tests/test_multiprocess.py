"""Two JAX processes on localhost (CPU, gloo collectives) train the same steps as one process with the same global
batch: the multi-host path (jax.distributed, process-local data -> global array, sharded step) gives the same loss."""
import json
import os
import socket
import subprocess
import sys

import numpy as np

WORKER = r'''
import json, sys
import numpy as np, jax
nproc, pid, port = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
if nproc > 1:
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(f"127.0.0.1:{port}", num_processes=nproc, process_id=pid)
from can.model import build_model
from can.presets import get_config
from can.train import batch_sharding, init_state, make_mesh, make_optimizer, make_train_step
cfg = get_config(batch_size=16, epochs=1, warmup_epochs=0, head_hidden=64, decoder_depth=1)
mesh = make_mesh()
assert mesh.size == 2 and jax.process_count() == nproc
model, tx = build_model(cfg), make_optimizer(cfg, 3)
state, step = init_state(cfg, model, tx, mesh), make_train_step(cfg, model, tx, mesh)
images = np.random.default_rng(0).integers(0, 256, (16, 32, 32, 1), dtype=np.uint8)   # the global batch
n = 16 // nproc
x = jax.make_array_from_process_local_data(batch_sharding(mesh), images[pid * n:(pid + 1) * n])
losses = []
for _ in range(3):
    state, m = step(state, x)
    losses.append({k: float(v) for k, v in m.items()})
print("LOSSES" + json.dumps(losses))
'''


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(nproc, pid, port, devices):
    env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}"}
    return subprocess.Popen([sys.executable, "-c", WORKER, str(nproc), str(pid), str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def losses(p):
    out = p.communicate(timeout=300)[0]
    assert p.returncode == 0, out[-3000:]
    return json.loads(out.split("LOSSES")[1].splitlines()[0])


def test_two_processes_equal_one_process():
    port = free_port()
    procs = [launch(2, i, port, devices=1) for i in range(2)]       # 2 processes x 1 device
    two = [losses(p) for p in procs]
    one = losses(launch(1, 0, port, devices=2))                     # 1 process x 2 devices, same global batch
    assert two[0] == two[1]                                         # both processes see the same global metrics
    for i, (a, b) in enumerate(zip(one, two[0])):
        for k in a:
            np.testing.assert_allclose(a[k], b[k], rtol=1e-5 if i == 0 else 1e-4, err_msg=f"step {i + 1} {k}")
