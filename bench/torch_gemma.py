#!/usr/bin/env python3
"""torch_gemma.py: the transformers baseline of brigade's text encoder bench (bench/gemma.sh).

Gemma 3 12B's text model (LTX-2's text encoder; the text_config of google/gemma-3-12b-it) with
random weights, made on the GPU in --dtype, run as LTX2Pipeline._get_gemma_prompt_embeds runs it:
output_hidden_states, the default attention (sdpa), a batch of --prompts prompts of --tokens tokens
each (no padding: the same work as brigade's). A warm-up and --runs timed forwards: their median
and spread, the load (init) time and the peak GPU memory, as one JSON line.
    python3 bench/torch_gemma.py --dtype float32 --prompts 1 --tokens 1024
"""
import argparse
import json
import statistics
import time

import torch


def config():
    from transformers import Gemma3TextConfig
    return Gemma3TextConfig(vocab_size=262208, hidden_size=3840, intermediate_size=15360,
                            num_hidden_layers=48, num_attention_heads=16, num_key_value_heads=8,
                            head_dim=256, query_pre_attn_scalar=256, sliding_window=1024,
                            layer_types=[("full_attention" if (i + 1) % 6 == 0 else "sliding_attention")
                                         for i in range(48)],
                            rope_theta=1000000.0, rope_scaling={"rope_type": "linear", "factor": 8.0},
                            rope_local_base_freq=10000.0, rms_norm_eps=1e-6)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dtype", default="bfloat16", choices=["float32", "bfloat16"])
    ap.add_argument("--prompts", type=int, default=1)
    ap.add_argument("--tokens", type=int, default=1024)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    from transformers import Gemma3TextModel
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dtype = getattr(torch, a.dtype)
    t0 = time.perf_counter()
    with torch.device("cuda"):
        torch.set_default_dtype(dtype)
        model = Gemma3TextModel(config()).eval()
        torch.set_default_dtype(torch.float32)
    torch.cuda.synchronize()
    load = time.perf_counter() - t0
    ids = torch.randint(3, 400, (a.prompts, a.tokens), device="cuda")
    mask = torch.ones_like(ids)
    times = []
    with torch.no_grad():
        for i in range(a.runs + 1):
            torch.cuda.synchronize()
            t = time.perf_counter()
            out = model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
            torch.stack(out.hidden_states, dim=-1)  # what the pipeline does with them
            torch.cuda.synchronize()
            if i:
                times.append(time.perf_counter() - t)
    print(json.dumps({"impl": "transformers", "dtype": a.dtype, "prompts": a.prompts,
                      "tokens": a.tokens, "load_seconds": round(load, 3),
                      "seconds": statistics.median(times), "seconds_min": min(times),
                      "seconds_max": max(times), "runs": a.runs,
                      "peak_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2),
                      "device": torch.cuda.get_device_name()}))


if __name__ == "__main__":
    main()
