"""torch_ltx.py: the PyTorch baseline brigade's benchmark is measured against, in the same run.

One forward of an LTX-Video-shaped transformer written with torch's own layers (nn.Linear,
F.rms_norm, F.layer_norm, F.scaled_dot_product_attention), random weights, eager mode, as a user
without brigade would run it on one GPU. fp32 runs with TF32 off (what a Pascal card computes);
bf16 runs with bf16 weights and activations. Prints one JSON line per (size, dtype).

    python3 bench/torch_ltx.py --sizes 2b,13b --dtypes bf16,fp32 --batch 2 --frames 16 \
        --height 16 --width 24 --prompt 128 --repeat 3
"""
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F

SIZES = {"2b": (28, 32, 64), "13b": (48, 32, 128)}  # blocks, heads, head dim


class Block(torch.nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        lin = lambda i, o: torch.nn.Linear(i, o)
        self.q1, self.k1, self.v1, self.o1 = lin(dim, dim), lin(dim, dim), lin(dim, dim), lin(dim, dim)
        self.q2, self.k2, self.v2, self.o2 = lin(dim, dim), lin(dim, dim), lin(dim, dim), lin(dim, dim)
        self.nq1, self.nk1 = torch.nn.Parameter(torch.ones(dim)), torch.nn.Parameter(torch.ones(dim))
        self.nq2, self.nk2 = torch.nn.Parameter(torch.ones(dim)), torch.nn.Parameter(torch.ones(dim))
        self.ff1, self.ff2 = lin(dim, 4 * dim), lin(4 * dim, dim)
        self.table = torch.nn.Parameter(torch.randn(6, dim) / dim**0.5)

    def attend(self, q, k, v, mask):
        b, s, d = q.shape
        split = lambda x: x.unflatten(2, (self.heads, -1)).transpose(1, 2)
        o = F.scaled_dot_product_attention(split(q), split(k), split(v), attn_mask=mask)
        return o.transpose(1, 2).flatten(2)

    def rope(self, x, cos, sin):
        x1, x2 = x.unflatten(2, (-1, 2)).unbind(-1)
        rot = torch.stack([-x2, x1], dim=-1).flatten(2)
        return x * cos + rot * sin

    def forward(self, h, prompt, temb, mask, cos, sin):
        b, _, d = h.shape
        ada = self.table[None] + temb.view(b, 6, d)
        sh1, sc1, g1, sh2, sc2, g2 = ada.unbind(1)
        n = F.rms_norm(h, (d,), eps=1e-6) * (1 + sc1[:, None]) + sh1[:, None]
        q = self.rope(F.rms_norm(self.q1(n), (d,), self.nq1, 1e-5), cos, sin)
        k = self.rope(F.rms_norm(self.k1(n), (d,), self.nk1, 1e-5), cos, sin)
        h = h + self.o1(self.attend(q, k, self.v1(n), None)) * g1[:, None]
        q = F.rms_norm(self.q2(h), (d,), self.nq2, 1e-5)
        k = F.rms_norm(self.k2(prompt), (d,), self.nk2, 1e-5)
        h = h + self.o2(self.attend(q, k, self.v2(prompt), mask))
        n = F.rms_norm(h, (d,), eps=1e-6) * (1 + sc2[:, None]) + sh2[:, None]
        return h + self.ff2(F.gelu(self.ff1(n), approximate="tanh")) * g2[:, None]


def build(size, dtype, a):
    """The model of one size on the GPU, random weights and inputs; returns its forward()."""
    layers, heads, hd = SIZES[size]
    dim = heads * hd
    dt = torch.bfloat16 if dtype == "bf16" else torch.float32
    torch.manual_seed(0)
    with torch.device("cuda"):
        blocks = torch.nn.ModuleList([Block(dim, heads) for _ in range(layers)]).to(dt)
        proj_in, proj_out = torch.nn.Linear(128, dim).to(dt), torch.nn.Linear(dim, 128).to(dt)
        cap1, cap2 = torch.nn.Linear(4096, dim).to(dt), torch.nn.Linear(dim, dim).to(dt)
        s = a.frames * a.height * a.width
        x = torch.randn(a.batch, s, 128, dtype=dt)
        prompt_in = torch.randn(a.batch, a.prompt, 4096, dtype=dt)
        temb = torch.randn(a.batch, 6 * dim, dtype=dt) * 0.1
        mask = torch.zeros(a.batch, 1, 1, a.prompt, dtype=dt)
        ang = torch.rand(s, dim) * 6.28
        cos, sin = ang.cos().to(dt), ang.sin().to(dt)

    def forward():
        with torch.no_grad():
            h = proj_in(x)
            prompt = cap2(F.gelu(cap1(prompt_in), approximate="tanh"))
            for blk in blocks:
                h = blk(h, prompt, temb, mask, cos, sin)
            return proj_out(F.layer_norm(h, (dim,), eps=1e-6))

    return forward


def run(size, dtype, a):
    forward = build(size, dtype, a)
    forward()
    torch.cuda.synchronize()
    times = []
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        forward()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    times.sort()
    print(json.dumps({"baseline": "pytorch", "model": size, "dtype": dtype, "batch": a.batch,
                      "tokens": a.frames * a.height * a.width, "prompt_tokens": a.prompt,
                      "seconds": times[len(times) // 2], "runs": len(times),
                      "seconds_min": times[0], "seconds_max": times[-1],
                      "peak_bytes": torch.cuda.max_memory_allocated(),
                      "device": torch.cuda.get_device_name()}), flush=True)
    del forward  # the weights and inputs go with it
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", default="2b,13b")
    p.add_argument("--dtypes", default="bf16,fp32")
    for name, default in [("batch", 2), ("frames", 16), ("height", 16), ("width", 24),
                          ("prompt", 128), ("repeat", 3)]:
        p.add_argument("--" + name, type=int, default=default)
    a = p.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    for size in a.sizes.split(","):
        for dtype in a.dtypes.split(","):
            run(size, dtype, a)


if __name__ == "__main__":
    main()
