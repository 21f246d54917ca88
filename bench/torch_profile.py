"""torch_profile.py: where the PyTorch baseline's time goes, kernel by kernel.

One forward of bench/torch_ltx.py's model (torch_ltx.build: random weights, batch 2, 6144 video
tokens, 128 prompt tokens) under torch.profiler; prints the total GPU kernel time and the kernels that take most of
it, grouped by name. This is how docs/benchmarks.md splits PyTorch's time into matrix products,
attention and element-wise work. On the device machine:

    python3 bench/torch_profile.py 13b bf16
"""
import argparse
import collections
import sys

import torch
from torch.profiler import ProfilerActivity, profile

import torch_ltx


def main():
    size, dtype = sys.argv[1], sys.argv[2]
    torch.backends.cuda.matmul.allow_tf32 = False
    shape = argparse.Namespace(batch=2, frames=16, height=16, width=24, prompt=128)
    forward = torch_ltx.build(size, dtype, shape)
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
    print(f"pytorch {size} {dtype}: {all_us / 1e3:.1f} ms of kernels in one forward")
    for name, us in total.most_common(15):
        print(f"{us / 1e3:9.2f} ms {100 * us / all_us:5.1f}% x{count[name]:4d} {name}")


if __name__ == "__main__":
    main()
