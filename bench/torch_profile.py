"""torch_profile.py: where the PyTorch baseline's time goes, kernel by kernel.

One forward of bench/torch_ltx.py's model (random weights, batch 2, 6144 video tokens, 128 prompt
tokens) under torch.profiler; prints the total GPU kernel time and the kernels that take most of
it, grouped by name. This is how docs/benchmarks.md splits PyTorch's time into matrix products,
attention and element-wise work. On the device machine:

    python3 bench/torch_profile.py 13b bf16
"""
import collections
import sys

import torch
from torch.profiler import ProfilerActivity, profile

import torch_ltx


def main():
    size, dtype = sys.argv[1], sys.argv[2]
    layers, heads, hd = torch_ltx.SIZES[size]
    dim, s = heads * hd, 16 * 16 * 24
    dt = torch.bfloat16 if dtype == "bf16" else torch.float32
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.manual_seed(0)
    with torch.device("cuda"):
        blocks = torch.nn.ModuleList([torch_ltx.Block(dim, heads) for _ in range(layers)]).to(dt)
        h0 = torch.randn(2, s, dim, dtype=dt)
        prompt = torch.randn(2, 128, dim, dtype=dt)
        temb = torch.randn(2, 6 * dim, dtype=dt) * 0.1
        mask = torch.zeros(2, 1, 1, 128, dtype=dt)
        ang = torch.rand(s, dim) * 6.28
        cos, sin = ang.cos().to(dt), ang.sin().to(dt)

    def forward():
        with torch.no_grad():
            h = h0
            for blk in blocks:
                h = blk(h, prompt, temb, mask, cos, sin)

    forward()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        forward()
        torch.cuda.synchronize()
    total, count = collections.Counter(), collections.Counter()
    for e in prof.events():
        if e.device_type.name == "CUDA":
            total[e.name[:100]] += e.device_time
            count[e.name[:100]] += 1
    all_us = sum(total.values())
    print(f"pytorch {size} {dtype}: {all_us / 1e3:.1f} ms of kernels over {layers} blocks")
    for name, us in total.most_common(15):
        print(f"{us / 1e3:9.2f} ms {100 * us / all_us:5.1f}% x{count[name]:4d} {name}")


if __name__ == "__main__":
    main()
