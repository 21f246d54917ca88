"""torch_qwen.py: the PyTorch baseline of one Qwen-Image transformer forward, for bench/qwen.sh.

One forward of diffusers' QwenImageTransformer2DModel architecture (the transformer of Qwen-Image
and of FireRed-Image-Edit) written with torch's own layers (nn.Linear, F.layer_norm, F.rms_norm,
F.scaled_dot_product_attention, F.gelu(approximate="tanh")), random weights, eager mode, as a user
without brigade would run it on one GPU. fp32 runs with TF32 off (what a Pascal card computes);
bf16 runs with bf16 weights and activations. Also measures cuBLAS's plain-fp32 SGEMM rate in the
same process: the fp32 goal is stated against FLOPs / that rate.

    python3 bench/torch_qwen.py --preset qwen-image-20b --dtypes bf16,fp32 --batch 1 \
        --image-tokens 8192 --images 2 --text-tokens 256 --repeat 3

Prints one JSON line {"sgemm_tflops": ...}, then one per dtype. "seconds" is the median of
--repeat timed forwards after one warm-up; "seconds_all" lists every forward, the warm-up first
(as brigade's --json does). With --blocks N below the preset's depth the model holds N blocks,
is also timed through its first --blocks-low of them, and "seconds_extrapolated" is the time of
the full depth on the line through those two points (time = fixed + blocks x per-block).

The key mask: diffusers' Qwen pipelines drop the text mask when every token is kept
(`if prompt_embeds_mask.all(): prompt_embeds_mask = None`), and SDPA then runs its unmasked
kernels. --mask auto (the default) does the same; --mask always passes the boolean key mask even
then, as a direct call of the transformer with a mask of ones would.

Left out: the zero_cond_t / additional_t_cond variants (off in Qwen-Image and FireRed), guidance
embedding, ControlNet residuals, and patchifying (the inputs are already packed 2x2 tokens).
"""
import argparse
import gc
import json
import math
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

# blocks, heads, head dim, input channels (packed 2x2 latents), text width, output channels
PRESETS = {"qwen-image-20b": dict(blocks=60, heads=24, head_dim=128, in_channels=64,
                                  joint_dim=3584, out_channels=64)}
ROPE_AXES = (16, 56, 56)  # frame, height, width channels of a head (diffusers' axes_dims_rope)
EPS = 1e-6
FF_MULT = 4
TIME_CHANNELS = 256

# Attention FLOPs as they run, added up while COUNT["on"] (the warm-up), to check forward_flop.
COUNT = {"on": False, "flop": 0}


def forward_flop(p, B, S, L, blocks):
    """FLOPs of one forward: 2*m*n*k for every Linear, 4*B*H*T*T*dh for attention (QK^T, PV).

    B batch, S image tokens, L text tokens, T = S + L, D = heads * head_dim. Masked keys are
    counted: the kernels compute them."""
    D, T = p["heads"] * p["head_dim"], S + L
    lin = lambda rows, n_in, n_out: 2 * rows * n_in * n_out
    io = (lin(B * S, p["in_channels"], D) + lin(B * L, p["joint_dim"], D)  # img_in, txt_in
          + lin(B, TIME_CHANNELS, D) + lin(B, D, D)                          # time embedding
          + lin(B, D, 2 * D) + lin(B * S, D, p["out_channels"]))             # norm_out, proj_out
    block = (2 * lin(B, D, 6 * D)                                            # img_mod, txt_mod
             + 4 * lin(B * S, D, D) + 4 * lin(B * L, D, D)                   # q, k, v, out each
             + 2 * lin(B * S, D, FF_MULT * D) + 2 * lin(B * L, D, FF_MULT * D)  # FF in + out
             + 4 * B * p["heads"] * T * T * p["head_dim"])                   # QK^T and PV
    return io + blocks * block


def rope(x, freqs):
    """x [B, S, H, dh] rotated pairwise: channels (2i, 2i+1) as one complex number times
    freqs [S, 1, dh/2] (complex64), in fp32 as diffusers' CUDA path does."""
    xc = torch.view_as_complex(x.float().reshape(*x.shape[:-1], -1, 2))
    return torch.view_as_real(xc * freqs).flatten(3).type_as(x)


def modulate(x, shift, scale):
    """LayerNorm without affine, then x * (1 + scale) + shift; shift, scale [B, 1, D]."""
    return F.layer_norm(x, x.shape[-1:], eps=EPS) * (1 + scale) + shift


class Block(nn.Module):
    """One QwenImageTransformerBlock: an image and a text stream, each modulated by temb, meeting
    in one joint attention over [text, image]; each has its own projections and feed-forward."""

    def __init__(self, dim, heads, head_dim, dtype):
        super().__init__()
        self.head_dim = head_dim
        lin = lambda i, o: nn.Linear(i, o, dtype=dtype)
        self.img_mod, self.txt_mod = lin(dim, 6 * dim), lin(dim, 6 * dim)  # [6D, D] each
        self.to_q, self.to_k, self.to_v = lin(dim, dim), lin(dim, dim), lin(dim, dim)
        self.add_q_proj, self.add_k_proj, self.add_v_proj = lin(dim, dim), lin(dim, dim), lin(dim, dim)
        self.to_out, self.to_add_out = lin(dim, dim), lin(dim, dim)
        ones = lambda: nn.Parameter(torch.ones(head_dim, dtype=dtype))  # [dh] per-head RMSNorm
        self.norm_q, self.norm_k, self.norm_added_q, self.norm_added_k = ones(), ones(), ones(), ones()
        self.img_ff_in, self.img_ff_out = lin(dim, FF_MULT * dim), lin(FF_MULT * dim, dim)
        self.txt_ff_in, self.txt_ff_out = lin(dim, FF_MULT * dim), lin(FF_MULT * dim, dim)

    def attention(self, img, txt, mask, rope_img, rope_txt):
        """img [B, S, D], txt [B, L, D] (modulated) -> their attention outputs, same shapes."""
        L, dh = txt.shape[1], self.head_dim
        heads = lambda x: x.unflatten(-1, (-1, dh))  # [B, S, D] -> [B, S, H, dh]
        norm = lambda x, w: F.rms_norm(x, (dh,), w, EPS)
        qi = rope(norm(heads(self.to_q(img)), self.norm_q), rope_img)
        ki = rope(norm(heads(self.to_k(img)), self.norm_k), rope_img)
        vi = heads(self.to_v(img))
        qt = rope(norm(heads(self.add_q_proj(txt)), self.norm_added_q), rope_txt)
        kt = rope(norm(heads(self.add_k_proj(txt)), self.norm_added_k), rope_txt)
        vt = heads(self.add_v_proj(txt))
        joint = lambda t, i: torch.cat([t, i], dim=1).transpose(1, 2)  # [B, H, L + S, dh]
        q, k, v = joint(qt, qi), joint(kt, ki), joint(vt, vi)
        if COUNT["on"]:
            B, H, Tq, _ = q.shape
            COUNT["flop"] += 4 * B * H * Tq * k.shape[2] * dh
        o = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # [B, H, L + S, dh]
        o = o.transpose(1, 2).flatten(2)                              # [B, L + S, D]
        return self.to_out(o[:, L:].contiguous()), self.to_add_out(o[:, :L].contiguous())

    def forward(self, img, txt, temb, mask, rope_img, rope_txt):
        """img [B, S, D], txt [B, L, D], temb [B, D] -> the new img, txt."""
        t = F.silu(temb)
        # shift, scale, gate of the attention, then of the feed-forward: [B, 1, D] each
        ish1, isc1, ig1, ish2, isc2, ig2 = self.img_mod(t)[:, None].chunk(6, dim=-1)
        tsh1, tsc1, tg1, tsh2, tsc2, tg2 = self.txt_mod(t)[:, None].chunk(6, dim=-1)
        ai, at = self.attention(modulate(img, ish1, isc1), modulate(txt, tsh1, tsc1), mask,
                                rope_img, rope_txt)
        img = img + ig1 * ai
        txt = txt + tg1 * at
        ff = lambda x, f_in, f_out: f_out(F.gelu(f_in(x), approximate="tanh"))
        img = img + ig2 * ff(modulate(img, ish2, isc2), self.img_ff_in, self.img_ff_out)
        txt = txt + tg2 * ff(modulate(txt, tsh2, tsc2), self.txt_ff_in, self.txt_ff_out)
        return img, txt


class QwenImage(nn.Module):
    """img_in / txt_norm + txt_in / time embedding, the blocks, AdaLayerNormContinuous + proj_out."""

    def __init__(self, p, blocks, dtype):
        super().__init__()
        D = p["heads"] * p["head_dim"]
        lin = lambda i, o: nn.Linear(i, o, dtype=dtype)
        self.img_in = lin(p["in_channels"], D)
        self.txt_norm = nn.Parameter(torch.ones(p["joint_dim"], dtype=dtype))  # RMSNorm weight
        self.txt_in = lin(p["joint_dim"], D)
        self.time_1, self.time_2 = lin(TIME_CHANNELS, D), lin(D, D)
        self.blocks = nn.ModuleList(Block(D, p["heads"], p["head_dim"], dtype) for _ in range(blocks))
        self.norm_out = lin(D, 2 * D)  # scale, then shift
        self.proj_out = lin(D, p["out_channels"])

    def forward(self, x, text, timestep, mask, rope_img, rope_txt, depth):
        """x [B, S, C_in], text [B, L, joint_dim], timestep [B] in [0, 1] -> [B, S, C_out],
        through the first `depth` blocks."""
        img = self.img_in(x)                                                  # [B, S, D]
        txt = self.txt_in(F.rms_norm(text, text.shape[-1:], self.txt_norm, EPS))  # [B, L, D]
        temb = self.time_2(F.silu(self.time_1(sinusoid(timestep).to(img.dtype))))  # [B, D]
        for blk in self.blocks[:depth]:
            img, txt = blk(img, txt, temb, mask, rope_img, rope_txt)
        scale, shift = self.norm_out(F.silu(temb)).chunk(2, dim=-1)           # [B, D] each
        img = F.layer_norm(img, img.shape[-1:], eps=EPS) * (1 + scale[:, None]) + shift[:, None]
        return self.proj_out(img)


def sinusoid(t, dim=TIME_CHANNELS, max_period=10000, scale=1000):
    """diffusers' Timesteps(256, flip_sin_to_cos=True, downscale_freq_shift=0, scale=1000): [B, dim]."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32,
                                                           device=t.device) / half)
    arg = scale * t.float()[:, None] * freqs[None]
    return torch.cat([arg.cos(), arg.sin()], dim=-1)


def rope_tables(images, h, w, L, head_dim, device):
    """The rotations QwenEmbedRope(theta 10000, axes (16, 56, 56), scale_rope=True) gives:
    image i's tokens at frame i, rows and columns centred on 0 (-h/2 .. h/2 - 1); the text tokens
    at max(h/2, w/2) + j on all three axes. Returns ([S, 1, dh/2], [L, 1, dh/2]) complex64, made
    once outside the timed forwards as diffusers caches them."""
    assert sum(ROPE_AXES) == head_dim, "the RoPE axes must fill a head"

    def angles(pos, dim):  # [N] positions -> [N, dim/2]
        return torch.outer(pos.double(), 10000.0 ** (-torch.arange(0, dim, 2).double() / dim))

    img = []
    for i in range(images):
        f = torch.full((h, w), i)
        y = (torch.arange(h) - (h - h // 2))[:, None].expand(h, w)
        x = (torch.arange(w) - (w - w // 2))[None, :].expand(h, w)
        img.append(torch.cat([angles(a.flatten(), n) for a, n in zip((f, y, x), ROPE_AXES)], 1))
    pos = torch.arange(L) + max(h // 2, w // 2)
    txt = torch.cat([angles(pos, n) for n in ROPE_AXES], 1)
    polar = lambda a: torch.polar(torch.ones_like(a), a).to(torch.complex64)[:, None].to(device)
    return polar(torch.cat(img)), polar(txt)


def grid(tokens):
    """A near-square h x w = tokens (h the largest divisor <= sqrt): 4096 -> 64 x 64."""
    h = max(d for d in range(1, math.isqrt(tokens) + 1) if tokens % d == 0)
    return h, tokens // h


def build(preset, dtype, a):
    """The model of --blocks blocks on the GPU, its random inputs and rotations; returns
    forward(depth) -> [B, S, C_out]. Weights are made on the GPU in `dtype` directly."""
    p = PRESETS[preset]
    dt = torch.bfloat16 if dtype == "bf16" else torch.float32
    S, L, B = a.image_tokens, a.text_tokens, a.batch
    h, w = grid(S // a.images)
    torch.manual_seed(0)
    with torch.device("cuda"), torch.no_grad():
        model = QwenImage(p, a.blocks, dt).requires_grad_(False)
        x = torch.randn(B, S, p["in_channels"], dtype=dt)
        text = torch.randn(B, L, p["joint_dim"], dtype=dt)
        timestep = torch.full((B,), 0.5)
        keep = torch.arange(L) < a.text_valid                     # [L] the kept text tokens
        mask = None
        if a.mask == "always" or a.text_valid < L:                # [B, 1, 1, L + S], True = attend
            mask = torch.cat([keep.expand(B, L), torch.ones(B, S, dtype=torch.bool)], 1)[:, None, None]
    rope_img, rope_txt = rope_tables(a.images, h, w, L, p["head_dim"], "cuda")

    def forward(depth):
        with torch.inference_mode():
            return model(x, text, timestep, mask, rope_img, rope_txt, depth)

    forward.key_mask = mask is not None
    forward.linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    return forward


def time_runs(fn, repeat):
    """Seconds of 1 + repeat calls of fn, the warm-up first, each synchronized around."""
    times = []
    for _ in range(1 + repeat):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return times


def median(times):
    """The median of the timed runs (all but the first); the upper one of an even count."""
    t = sorted(times[1:])
    return t[len(t) // 2]


def count_flop(forward, depth):
    """FLOPs of one forward(depth) as it runs: every Linear's 2*m*n*k by forward hooks, attention
    by COUNT. Returns (flop, output)."""
    def hook(m, inp, out):
        COUNT["flop"] += 2 * out.numel() * m.in_features
    handles = [m.register_forward_hook(hook) for m in forward.linears]
    COUNT["on"], COUNT["flop"] = True, 0
    try:
        out = forward(depth)
    finally:
        COUNT["on"] = False
        for hnd in handles:
            hnd.remove()
    return COUNT["flop"], out


def run(preset, dtype, a):
    p = PRESETS[preset]
    full, B, S, L = p["blocks"], a.batch, a.image_tokens, a.text_tokens
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    forward = build(preset, dtype, a)

    # Correctness first: the output's shape, finite values, and the FLOP formula against the
    # count of what ran (this untimed pass also warms up the kernels once more).
    flop = forward_flop(p, B, S, L, a.blocks)
    counted, out = count_flop(forward, a.blocks)
    if tuple(out.shape) != (B, S, p["out_channels"]) or counted != flop:
        sys.exit(f"torch_qwen.py: {preset} {dtype}: output {tuple(out.shape)}, flop counted "
                 f"{counted} vs formula {flop}")
    finite = bool(torch.isfinite(out).all())
    if not finite:
        print(f"torch_qwen.py: {preset} {dtype}: the output has NaN or Inf", file=sys.stderr)
    del out

    times = time_runs(lambda: forward(a.blocks), a.repeat)
    seconds = median(times)
    r = {"baseline": "pytorch", "model": preset, "dtype": dtype, "batch": B,
         "image_tokens": S, "images": a.images, "text_tokens": L, "text_valid": a.text_valid,
         "mask": a.mask, "key_mask": forward.key_mask,
         "shapes": {"hidden_states": [B, S, p["in_channels"]],
                    "encoder_hidden_states": [B, L, p["joint_dim"]],
                    "output": [B, S, p["out_channels"]],
                    "dim": p["heads"] * p["head_dim"], "heads": p["heads"],
                    "head_dim": p["head_dim"], "ff_dim": FF_MULT * p["heads"] * p["head_dim"]},
         "blocks": a.blocks, "blocks_full": full,
         "seconds": seconds, "seconds_all": times, "runs": a.repeat,
         "tflops": round(flop / seconds / 1e12, 3), "flop": flop,
         "flop_full": forward_flop(p, B, S, L, full), "finite": finite}
    if a.blocks < full:
        # Two depths of the same weights: time = fixed + depth * per_block, extended to `full`.
        low = time_runs(lambda: forward(a.blocks_low), a.repeat)
        per_block = (seconds - median(low)) / (a.blocks - a.blocks_low)
        r.update({"blocks_low": a.blocks_low, "seconds_low": median(low), "seconds_low_all": low,
                  "seconds_per_block": per_block,
                  "seconds_extrapolated": seconds + (full - a.blocks) * per_block})
        r["tflops_extrapolated"] = round(r["flop_full"] / r["seconds_extrapolated"] / 1e12, 3)
    r.update({"peak_bytes": torch.cuda.max_memory_allocated(),
              "device": torch.cuda.get_device_name(), "torch": torch.__version__,
              "tf32": torch.backends.cuda.matmul.allow_tf32})
    print(json.dumps(r), flush=True)
    del forward  # the weights and inputs go with it
    gc.collect()
    torch.cuda.empty_cache()


def sgemm_tflops(n=8192, repeat=3):
    """cuBLAS plain-fp32 SGEMM rate (TF32 off): n x n x n, warm-up + median of `repeat`."""
    g = torch.Generator(device="cuda").manual_seed(0)
    x = torch.randn(n, n, device="cuda", generator=g)
    y = torch.randn(n, n, device="cuda", generator=g)
    seconds = median(time_runs(lambda: torch.mm(x, y), repeat))
    del x, y
    torch.cuda.empty_cache()
    return 2 * n**3 / seconds / 1e12


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="qwen-image-20b", choices=sorted(PRESETS))
    p.add_argument("--dtypes", default="bf16,fp32")
    p.add_argument("--blocks", type=int, help="blocks in the model (default: the preset's)")
    p.add_argument("--blocks-low", type=int,
                   help="the second depth for the extrapolation when --blocks is below the "
                        "preset's (default: blocks / 3)")
    for name, default in [("batch", 1), ("image-tokens", 8192), ("images", 2),
                          ("text-tokens", 256), ("repeat", 3)]:
        p.add_argument("--" + name, type=int, default=default)
    p.add_argument("--text-valid", type=int, help="kept text tokens, the first ones (default: all)")
    p.add_argument("--mask", choices=["auto", "always"], default="auto",
                   help="auto: no key mask when every text token is kept, as diffusers' pipelines")
    p.add_argument("--no-sgemm", action="store_true", help="skip the SGEMM rate")
    a = p.parse_args()
    full = PRESETS[a.preset]["blocks"]
    a.blocks = full if a.blocks is None else a.blocks
    a.blocks_low = a.blocks // 3 if a.blocks_low is None else a.blocks_low
    a.text_valid = a.text_tokens if a.text_valid is None else a.text_valid
    if not 1 <= a.blocks <= full or (a.blocks < full and not 0 <= a.blocks_low < a.blocks):
        p.error(f"--blocks must be 1..{full}, --blocks-low 0..blocks-1")
    if min(a.batch, a.image_tokens, a.images, a.text_tokens, a.repeat) < 1 \
            or a.image_tokens % a.images or not 1 <= a.text_valid <= a.text_tokens:
        p.error("sizes must be positive, --image-tokens a multiple of --images, "
                "--text-valid 1..text-tokens")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    if not a.no_sgemm:
        print(json.dumps({"sgemm_tflops": round(sgemm_tflops(), 3), "n": 8192, "tf32": False,
                          "device": torch.cuda.get_device_name()}), flush=True)
    for dtype in a.dtypes.split(","):
        run(a.preset, dtype, a)


if __name__ == "__main__":
    main()
