"""The same encoder training step in JAX (this package) and in eager PyTorch: the issue's "same-sized model" baseline.

Default-preset CAN encoder (width 128, depth 4, MLP 512, 4 heads), 128 sequences (2 views x 64 images) of 36 tokens,
fp32: forward, sum(pooled**2), backward, AdamW step. Each framework's MFU is taken against its own best 2048^2
matmul, measured in the same process. Run by encoder_vs_torch.sh; prints one JSON line.

    python encoder_step.py jax|torch
"""
import json, os, sys, time

N, T, P, D, L, M, H = 128, 36, 16, 128, 4, 512, 4
STEPS = 20


def median(ts):
    return sorted(ts)[len(ts) // 2]


def run_torch():
    import torch, torch.nn as nn, torch.nn.functional as F
    from torch.utils.flop_counter import FlopCounterMode
    torch.manual_seed(0)

    class Block(nn.Module):
        def __init__(s):
            super().__init__()
            s.n1, s.qkv, s.o = nn.LayerNorm(D), nn.Linear(D, 3 * D), nn.Linear(D, D)
            s.n2, s.f1, s.f2 = nn.LayerNorm(D), nn.Linear(D, M), nn.Linear(M, D)

        def forward(s, x):
            q, k, v = s.qkv(s.n1(x)).view(N, T, 3, H, D // H).permute(2, 0, 3, 1, 4)
            x = x + s.o(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(N, T, D))
            return x + s.f2(F.gelu(s.f1(s.n2(x)), approximate="tanh"))

    model = nn.Sequential(nn.Linear(P, D), *[Block() for _ in range(L)], nn.LayerNorm(D))
    opt = torch.optim.AdamW(model.parameters(), 1e-3)
    x = torch.randn(N, T, P)

    def step():
        opt.zero_grad()
        (model(x).mean(1) ** 2).sum().backward()
        opt.step()

    with FlopCounterMode(display=False) as fc:
        step()
    flops = fc.get_total_flops()   # matmuls only (PyTorch's counter)
    for _ in range(3):
        step()
    ts = []
    for _ in range(STEPS):
        t = time.perf_counter(); step(); ts.append(time.perf_counter() - t)
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    peak = 0.0
    for _ in range(10):
        t = time.perf_counter(); a @ b; peak = max(peak, 2 * 2048 ** 3 / (time.perf_counter() - t))
    return dict(framework=f"torch {torch.__version__} (eager)", threads=torch.get_num_threads(), flops=flops,
                step_s=median(ts), peak_flop_s=peak)


def run_jax():
    import jax, jax.numpy as jnp, optax
    from can.flops import xla_flops
    from can.model import Encoder
    enc = Encoder(D, L, M, H)
    x = jax.random.normal(jax.random.key(0), (N, T, P))
    params = enc.init(jax.random.key(1), x)
    tx = optax.adamw(1e-3)
    opt = tx.init(params)

    @jax.jit
    def step(params, opt, x):
        g = jax.grad(lambda p: jnp.sum(enc.apply(p, x)["pooled"] ** 2))(params)
        u, opt = tx.update(g, opt, params)
        return optax.apply_updates(params, u), opt

    flops = xla_flops(step.lower(params, opt, x).compile())   # everything XLA counts, element-wise work included
    for _ in range(3):
        params, opt = step(params, opt, x)
    jax.block_until_ready(params)
    ts = []
    for _ in range(STEPS):
        t = time.perf_counter(); params, opt = step(params, opt, x); jax.block_until_ready(params)
        ts.append(time.perf_counter() - t)
    a = jax.random.normal(jax.random.key(0), (2048, 2048))
    mm = jax.jit(lambda a, b: a @ b)
    mm(a, a).block_until_ready()
    peak = 0.0
    for _ in range(10):
        t = time.perf_counter(); mm(a, a).block_until_ready(); peak = max(peak, 2 * 2048 ** 3 / (time.perf_counter() - t))
    return dict(framework=f"jax {jax.__version__} (jit)", flops=flops, step_s=median(ts), peak_flop_s=peak)


if __name__ == "__main__":
    r = run_torch() if sys.argv[1] == "torch" else run_jax()
    r.update(images_per_s=N / r["step_s"], achieved_gflop_s=r["flops"] / r["step_s"] / 1e9,
             mfu_own_peak=r["flops"] / r["step_s"] / r["peak_flop_s"], malloc=os.environ.get("LD_PRELOAD", "") or "glibc")
    print(json.dumps(r))
