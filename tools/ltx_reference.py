#!/usr/bin/env python3
r"""ltx_reference.py: ground truth for brigade's LTX-Video transformer, computed by the reference.

What it is for
    brigade's forward pass is checked against the reference implementation, diffusers'
    LTXVideoTransformer3DModel. shared/fixtures/ltx-tiny holds one such case (4 blocks, 2 heads x 16).
    This script makes more of them, for checkpoints of other sizes: it builds the model with small
    random weights, saves it as a diffusers folder (fp32, optionally sharded, plus a bf16 copy), runs
    one forward pass on random inputs and writes the inputs and outputs in the layout of
    ltx-tiny/case_forward.safetensors (same tensor names, same JSON-valued __metadata__).

What it writes, under --out DIR
    DIR/transformer/        config.json + diffusion_pytorch_model.safetensors (fp32); with --shard-size,
                            diffusion_pytorch_model-0000K-of-0000N.safetensors + ...safetensors.index.json
    DIR/transformer-bf16/   the same weights rounded to bfloat16, stored as BF16, sharded the same way
    DIR/case_forward.safetensors
        inputs:   hidden_states [B, S, C_in] (S = frames*height*width, token (f*H + h)*W + w),
                  encoder_hidden_states [B, L, C_cap], encoder_attention_mask [B, L] (1 keep, 0 masked;
                  sample 0 has its last --masked tokens masked), timestep [B] (0..1000 scale)
        outputs:  sample [B, S, C_out] (fp32 weights), sample_from_bf16_weights (bf16 checkpoint
                  upcast to fp32, computed in fp32)
        debug:    proj_in_out [B, S, D], temb [B, 6D], embedded_timestep [B, D],
                  caption_projection_out [B, L, D], rope_cos / rope_sin [B, S, D],
                  block_00_out ... [B, S, D] (hidden states after each transformer block)
        __metadata__ (every value a JSON text): note, num_frames, height, width (latent grid),
                  rope_interpolation_scale ([8/frame_rate, 32, 32], as LTXPipeline passes it)
    Everything is float32 and contiguous. TF32 is off.

How to run
    It needs torch, safetensors, huggingface_hub, accelerate (optional) and diffusers at commit
    58eb52c0803ea9af3abec60841c2a093bdf1f951. diffusers travels as plain source: .carry/diffusers is
    src/diffusers of that commit (git-ignored), put on the path with PYTHONPATH. From the repo root:

        PYTHONPATH=$PWD/.carry python3 tools/ltx_reference.py --out /tmp/case [options]

    No workaround is needed to import that diffusers on the GPU machine's image (Python 3.12, torch
    2.11, huggingface_hub 1.33, safetensors 0.8, transformers 5.17, peft/torchvision present): its
    runtime version checks are python>=3.10 and requests/filelock/numpy installed, importlib.metadata
    is the stdlib one on 3.8+, and every optional backend import is guarded. The script only sets
    HF_HUB_OFFLINE=1 (nothing is fetched: all loads are from local folders).

The two cases made for brigade's tests, on the device machine (the `run` tool, carry [".carry"]):
  case A "ltx-odd": 3 blocks, 5 heads x 8 (dim 40: not a multiple of 6, so RoPE pads 4 channels),
    in 12, out 6 channels, caption 20, batch 2, latent grid 2x3x5 (S 30), prompt 9 (last 3 of sample 0
    masked), seed 11; 200 KB shards: fp32 (419 KB of weights) in 3 shards, bf16 (209 KB) in 2, each
    folder with its index.
  case B "ltx-wide": 5 blocks, 3 heads x 32 (dim 96), in/out 16, caption 40, batch 1, latent grid
    3x4x4 (S 48), prompt 6 (last 2 masked), seed 12; single-file checkpoints (3.4 MB fp32, 1.7 MB bf16).
  Together about 6.0 MB (5.8 MiB). $OUT brings back at most 8 files, so the folders come back as one
  tarball, plus one log per case. One command line (CPU; add --device cuda for the GPU):

    set -o pipefail; export PYTHONPATH=$PWD/.carry PYTHONUNBUFFERED=1; G=/tmp/ltx-cases; rm -rf $G && \
    python3 tools/ltx_reference.py --out $G/ltx-odd --layers 3 --heads 5 --head-dim 8 \
        --in-channels 12 --out-channels 6 --caption-channels 20 --batch 2 \
        --frames 2 --height 3 --width 5 --prompt-len 9 --seed 11 --shard-size 200KB \
        2>&1 | tee $OUT/ltx-odd.log && \
    python3 tools/ltx_reference.py --out $G/ltx-wide --layers 5 --heads 3 --head-dim 32 \
        --in-channels 16 --out-channels 16 --caption-channels 40 --batch 1 \
        --frames 3 --height 4 --width 4 --prompt-len 6 --seed 12 \
        2>&1 | tee $OUT/ltx-wide.log && \
    tar -C $G -czf $OUT/ltx-cases.tar.gz ltx-odd ltx-wide
"""

import argparse
import json
import math
import os
import shutil
import sys
from pathlib import Path

# All loads below are from local folders; make sure huggingface_hub never tries the network (the
# device machine has none) and sends no telemetry. Set before diffusers/huggingface_hub import.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import torch  # noqa: E402
import safetensors.torch  # noqa: E402

try:
    import diffusers  # noqa: E402
    from diffusers import LTXVideoTransformer3DModel  # noqa: E402
    from diffusers.models.normalization import RMSNorm as DiffusersRMSNorm  # noqa: E402
except ImportError as e:
    sys.exit(f"ltx_reference: cannot import diffusers ({e}); run with PYTHONPATH=<repo>/.carry, where "
             ".carry/diffusers is src/diffusers of diffusers commit 58eb52c0803ea9af3abec60841c2a093bdf1f951")

# LTXPipeline's RoPE interpolation scale is (vae temporal ratio / frame_rate, vae spatial ratio,
# vae spatial ratio); LTX-Video's VAE compresses 8x in time and 32x in space.
VAE_TEMPORAL_RATIO = 8
VAE_SPATIAL_RATIO = 32


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, type=Path, help="output folder")
    # Model shape. Defaults are those of shared/fixtures/ltx-tiny.
    p.add_argument("--layers", type=int, default=4, help="transformer blocks")
    p.add_argument("--heads", type=int, default=2, help="attention heads")
    p.add_argument("--head-dim", type=int, default=16, help="channels per head")
    p.add_argument("--in-channels", type=int, default=8, help="latent channels in")
    p.add_argument("--out-channels", type=int, default=None, help="channels out (default: --in-channels)")
    p.add_argument("--caption-channels", type=int, default=24, help="text-encoder channels")
    # Inputs.
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--frames", type=int, default=3, help="latent frames")
    p.add_argument("--height", type=int, default=4, help="latent height")
    p.add_argument("--width", type=int, default=6, help="latent width")
    p.add_argument("--prompt-len", type=int, default=7, help="text tokens L")
    p.add_argument("--masked", type=int, default=None,
                   help="trailing text tokens of sample 0 to mask (default: L // 3, within 1 .. L - 1)")
    p.add_argument("--frame-rate", type=float, default=25, help="frame rate the RoPE scale is made from")
    p.add_argument("--seed", type=int, default=0)
    # Checkpoint and run.
    p.add_argument("--shard-size", default=None,
                   help='save_pretrained max_shard_size for both checkpoints, e.g. "200KB" (KB = 1000 bytes) '
                        "or a byte count; default: one file")
    p.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs in --out")
    a = p.parse_args()
    if a.out_channels is None:
        a.out_channels = a.in_channels
    if a.masked is None:
        a.masked = min(max(1, a.prompt_len // 3), a.prompt_len - 1)
    if a.shard_size is not None and a.shard_size.isdigit():
        a.shard_size = int(a.shard_size)  # diffusers takes an int as bytes
    positive = ["layers", "heads", "head_dim", "in_channels", "out_channels", "caption_channels",
                "batch", "frames", "height", "width", "prompt_len"]
    for name in positive:
        if getattr(a, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if a.layers > 100:
        p.error("--layers: at most 100 (block names have two digits)")
    if not 0 <= a.masked < a.prompt_len:
        p.error("--masked must leave at least one text token unmasked")
    return a


def reinit_parameters(model, gen):
    """Give every parameter random values of a sensible scale, so that every term of the forward
    pass is non-trivial (diffusers' own init leaves norm weights at 1 and biases at 0, which would
    hide a missing weight or bias in brigade). Returns the number of tensors set."""
    norm_types = (torch.nn.LayerNorm, torch.nn.RMSNorm, DiffusersRMSNorm)
    done = 0
    with torch.no_grad():
        for mod_name, module in model.named_modules():
            for p_name, param in module.named_parameters(recurse=False):
                full = f"{mod_name}.{p_name}" if mod_name else p_name
                shape = tuple(param.shape)
                if isinstance(module, torch.nn.Linear) and p_name == "weight":
                    # std 1/sqrt(fan_in) keeps activations O(1) through each projection.
                    value = torch.randn(shape, generator=gen) / math.sqrt(module.in_features)
                elif isinstance(module, (torch.nn.Linear,) + norm_types) and p_name == "bias":
                    value = 0.1 * torch.randn(shape, generator=gen)
                elif isinstance(module, norm_types) and p_name == "weight":
                    value = 1.0 + 0.1 * torch.randn(shape, generator=gen)
                elif p_name == "scale_shift_table":
                    # [2 or 6, D]: the same scale the model's own __init__ uses (randn / sqrt(D)).
                    value = torch.randn(shape, generator=gen) / math.sqrt(shape[-1])
                else:
                    raise SystemExit(f"ltx_reference: no initialisation rule for parameter {full} "
                                     f"({type(module).__name__}, shape {list(shape)})")
                param.copy_(value.to(param.dtype))
                done += 1
    total = sum(1 for _ in model.parameters())
    assert done == total, f"set {done} of {total} parameters"
    return done


def make_inputs(a, gen):
    """Random inputs, drawn on the CPU from their own generator (so they do not depend on --device)."""
    seq = a.frames * a.height * a.width
    hidden_states = torch.randn(a.batch, seq, a.in_channels, generator=gen)
    encoder_hidden_states = torch.randn(a.batch, a.prompt_len, a.caption_channels, generator=gen)
    mask = torch.ones(a.batch, a.prompt_len, dtype=torch.float32)
    if a.masked:
        mask[0, a.prompt_len - a.masked:] = 0.0  # padding at the end of sample 0's prompt
    timestep = torch.rand(a.batch, generator=gen) * 1000.0  # uniform in (0, 1000)
    return {
        "hidden_states": hidden_states.contiguous(),
        "encoder_hidden_states": encoder_hidden_states.contiguous(),
        "encoder_attention_mask": mask.contiguous(),
        "timestep": timestep.to(torch.float32).contiguous(),
    }


def cpu32(t):
    """A float32 CPU copy that owns its memory (safetensors refuses tensors that share storage)."""
    return t.detach().to("cpu", torch.float32).clone(memory_format=torch.contiguous_format)


def add_capture_hooks(model, store):
    """Forward hooks that copy the intermediates ltx-tiny's case file has into `store`."""
    def keep(name):
        return lambda _mod, _args, out: store.__setitem__(name, cpu32(out))

    def keep_time(_mod, _args, out):
        temb, embedded_timestep = out  # AdaLayerNormSingle returns (linear(silu(emb)), emb)
        store["temb"] = cpu32(temb)  # [B, 6D]: shift/scale/gate of attention, then of the MLP
        store["embedded_timestep"] = cpu32(embedded_timestep)  # [B, D]

    def keep_rope(_mod, _args, out):
        cos, sin = out  # each [B, S, D]
        store["rope_cos"] = cpu32(cos)
        store["rope_sin"] = cpu32(sin)

    handles = [
        model.proj_in.register_forward_hook(keep("proj_in_out")),
        model.time_embed.register_forward_hook(keep_time),
        model.caption_projection.register_forward_hook(keep("caption_projection_out")),
        model.rope.register_forward_hook(keep_rope),
    ]
    for i, block in enumerate(model.transformer_blocks):
        handles.append(block.register_forward_hook(keep(f"block_{i:02d}_out")))
    return handles


def forward(model, inputs, a, device):
    """One call as LTXPipeline makes it: packed latents, text, mask, timestep, grid, RoPE scale."""
    x = {k: v.to(device) for k, v in inputs.items()}
    with torch.no_grad():
        out = model(
            hidden_states=x["hidden_states"],
            encoder_hidden_states=x["encoder_hidden_states"],
            timestep=x["timestep"],
            encoder_attention_mask=x["encoder_attention_mask"],
            num_frames=a.frames,
            height=a.height,
            width=a.width,
            rope_interpolation_scale=rope_scale(a),
            return_dict=False,
        )[0]
    return cpu32(out)


def rope_scale(a):
    # The pipeline's tuple, with its Python types: (8 / 25, 32, 32) = (0.32, 32, 32).
    return (VAE_TEMPORAL_RATIO / a.frame_rate, VAE_SPATIAL_RATIO, VAE_SPATIAL_RATIO)


def disable_tf32():
    """The reference is computed in true fp32: no TF32 in matmuls or cuDNN."""
    # Only the legacy switches: torch >= 2.9 keeps them in step with its newer fp32_precision
    # settings, whereas setting some of the new ones as well can leave a mixed state in which
    # torch's TF32 checks raise ("mix of the legacy and new APIs").
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def save(model, folder, shard_size):
    kwargs = {"safe_serialization": True}
    if shard_size is not None:
        kwargs["max_shard_size"] = shard_size
    model.save_pretrained(str(folder), **kwargs)


def check_same_weights(loaded, expected, what):
    """The checkpoint read back by diffusers' own loader must hold exactly the weights we meant."""
    got = loaded.state_dict()
    if set(got) != set(expected):
        raise SystemExit(f"ltx_reference: {what}: tensor names differ: "
                         f"{sorted(set(got) ^ set(expected))[:5]}")
    for k, v in expected.items():
        g = got[k].detach().cpu()
        if g.dtype != v.dtype or not torch.equal(g, v):
            raise SystemExit(f"ltx_reference: {what}: {k} differs after reload")


def describe_folder(folder):
    names = sorted(os.listdir(folder))
    return ", ".join(f"{n} ({os.path.getsize(folder / n)} B)" for n in names)


def main():
    a = parse_args()
    device = torch.device(a.device)
    disable_tf32()

    out = a.out
    t32, t16, case = out / "transformer", out / "transformer-bf16", out / "case_forward.safetensors"
    for path in (t32, t16, case):
        if path.exists():
            if not a.overwrite:
                raise SystemExit(f"ltx_reference: {path} exists; remove it or pass --overwrite")
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    out.mkdir(parents=True, exist_ok=True)

    dim = a.heads * a.head_dim
    print(f"diffusers {diffusers.__version__} from {os.path.dirname(diffusers.__file__)}; "
          f"torch {torch.__version__}; device {device}")
    print(f"model: {a.layers} blocks, {a.heads} heads x {a.head_dim} (dim {dim}, dim % 6 = {dim % 6}), "
          f"in {a.in_channels}, out {a.out_channels}, caption {a.caption_channels}")

    # 1. The model, fp32 on the CPU, with our random weights.
    torch.manual_seed(a.seed)
    model = LTXVideoTransformer3DModel(
        in_channels=a.in_channels,
        out_channels=a.out_channels,
        num_attention_heads=a.heads,
        attention_head_dim=a.head_dim,
        cross_attention_dim=dim,  # attn2 attends to the caption projection, which has width dim
        num_layers=a.layers,
        caption_channels=a.caption_channels,
    ).eval()
    assert all(p.dtype == torch.float32 for p in model.parameters()), "model is not float32"
    n = reinit_parameters(model, torch.Generator().manual_seed(a.seed))
    n_values = sum(p.numel() for p in model.parameters())
    print(f"weights: {n} tensors, {n_values} values")

    # 2. fp32 checkpoint, read back through diffusers' loader (exercises the shard index too).
    save(model, t32, a.shard_size)
    expected32 = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    check_same_weights(LTXVideoTransformer3DModel.from_pretrained(str(t32)), expected32, "fp32 checkpoint")
    print(f"{t32}: {describe_folder(t32)}")

    # 3. The forward pass with the fp32 weights, capturing intermediates.
    inputs = make_inputs(a, torch.Generator().manual_seed(a.seed + 1))
    captured = {}
    model.to(device)
    handles = add_capture_hooks(model, captured)
    sample = forward(model, inputs, a, device)
    for h in handles:
        h.remove()
    if len([k for k in captured if k.startswith("block_")]) != a.layers:
        raise SystemExit("ltx_reference: a block hook did not fire")

    # 4. bf16 checkpoint: the same weights rounded to bfloat16 (as real checkpoints ship), read
    #    back, upcast to fp32 and run on the same inputs.
    expected16 = {k: v.to(torch.bfloat16) for k, v in expected32.items()}
    model.to("cpu", torch.bfloat16)
    save(model, t16, a.shard_size)
    del model
    model16 = LTXVideoTransformer3DModel.from_pretrained(str(t16), torch_dtype=torch.bfloat16)
    check_same_weights(model16, expected16, "bf16 checkpoint")
    print(f"{t16}: {describe_folder(t16)}")
    model16 = model16.float().to(device).eval()
    sample16 = forward(model16, inputs, a, device)

    # 5. The case file.
    tensors = dict(inputs)
    tensors["sample"] = sample
    tensors["sample_from_bf16_weights"] = sample16
    tensors.update(captured)
    tensors = {k: cpu32(v) for k, v in tensors.items()}
    for k, v in tensors.items():
        if not torch.isfinite(v).all():
            raise SystemExit(f"ltx_reference: {k} has non-finite values")
    note = ("sample: transformer output with fp32 weights; sample_from_bf16_weights: with "
            "transformer-bf16 weights, computed in fp32")
    metadata = {  # every value is JSON text, as in shared/fixtures/ltx-tiny/case_forward.safetensors
        "note": json.dumps(note),
        "num_frames": json.dumps(a.frames),
        "height": json.dumps(a.height),
        "width": json.dumps(a.width),
        "rope_interpolation_scale": json.dumps(list(rope_scale(a))),
    }
    safetensors.torch.save_file(tensors, str(case), metadata=metadata)

    rel = (sample16 - sample).abs().max().item() / max(sample.abs().max().item(), 1e-30)
    print(f"{case}: {len(tensors)} tensors, {case.stat().st_size} B; metadata {metadata}")
    for k in sorted(tensors):
        v = tensors[k]
        print(f"  {k:26s} {str(list(v.shape)):16s} max|x| {v.abs().max().item():.4g}")
    print(f"sample vs sample_from_bf16_weights: max abs diff / max |sample| = {rel:.3g}")


if __name__ == "__main__":
    main()
