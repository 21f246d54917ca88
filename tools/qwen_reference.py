#!/usr/bin/env python3
r"""qwen_reference.py: ground truth for brigade's Qwen-Image transformer, computed by the reference.

What it is for
    brigade's Qwen-Image forward pass (the MMDiT of Qwen-Image-Edit / FireRed-Image-Edit) is checked
    against the reference implementation, diffusers' QwenImageTransformer2DModel.
    shared/fixtures/qwenimage-tiny holds one such case (4 blocks, 2 heads x 16, one reference image).
    This script makes more of them, for checkpoints of other sizes and other image/text layouts: it
    builds the model with small random weights and FireRed-Image-Edit's flags (zero_cond_t,
    use_additional_t_cond, use_layer3d_rope, guidance_embeds all false), saves it as a diffusers folder
    (fp32, optionally sharded, plus a bf16 copy), runs one forward pass on random inputs, called as
    QwenImageEditPlusPipeline calls it, and writes the inputs and outputs in the layout of
    qwenimage-tiny/case_forward.safetensors (same tensor names, same JSON-valued __metadata__).

What it writes, under --out DIR
    DIR/transformer/        config.json + diffusion_pytorch_model.safetensors (fp32); with --shard-size,
                            diffusion_pytorch_model-0000K-of-0000N.safetensors + ...safetensors.index.json
    DIR/transformer-bf16/   the same weights rounded to bfloat16, stored as BF16, sharded the same way
    DIR/case_forward.safetensors
        inputs:   latents [B, S_t, C_in] (packed noisy target, S_t = H*W tokens of --target H,W),
                  image_latents [B, S_r, C_in] (the packed references of --refs, one after another;
                  absent with no references, as in the pipeline), hidden_states [B, S, C_in] = their
                  concatenation along the tokens (target first; S = S_t + S_r; the tensor the model takes),
                  encoder_hidden_states [B, L, joint_dim], encoder_hidden_states_mask [B, L] (1 keep,
                  0 masked; sample i has its last m_i tokens masked, --masked), timestep [B] (sigmas in
                  (0, 1]: the scheduler's timestep / 1000, as the pipeline passes it)
        outputs:  sample [B, S, 4*C_out] (fp32 weights; every image token), noise_pred = sample[:, :S_t]
                  (what the pipeline keeps), sample_from_bf16_weights (bf16 checkpoint upcast to fp32,
                  computed in fp32)
        debug:    img_in_out [B, S, D], txt_norm_out [B, L, joint_dim], txt_in_out [B, L, D], temb [B, D];
                  img_rope_cos / img_rope_sin [S, head_dim/2], txt_rope_cos / txt_rope_sin [L, head_dim/2]
                  (real and imaginary parts of the complex rotations pos_embed returns: the rotation of
                  channel pair (2k, 2k+1) of every head of q and k); block 0 in detail:
                  block_00_attn_img_out / block_00_attn_txt_out (joint attention after to_out /
                  to_add_out, before the gates), block_00_img_mlp_out / block_00_txt_mlp_out; for every
                  block block_NN_img_out [B, S, D] and block_NN_txt_out [B, L, D]; norm_out_out [B, S, D]
                  (the final AdaLayerNormContinuous, before proj_out)
        __metadata__ (every value a JSON text): img_shapes (exactly what the model was called with,
                  one list per sample: [[1, H, W] of the target, then of each reference]), batch,
                  target_tokens, reference_tokens (all references together), text_tokens,
                  masked_text_tokens ([m_0, ...]), target_pixel_height/_width (16 px per token),
                  checkpoint, guidance (null), seed, note, generator
    Everything is float32 and contiguous. TF32 is off.

How to run
    It needs torch, safetensors, numpy and diffusers at commit 58eb52c0803ea9af3abec60841c2a093bdf1f951.
    diffusers travels as plain source: .carry/diffusers is src/diffusers of that commit (git-ignored),
    put on the path with PYTHONPATH. From the repo root:

        PYTHONPATH=$PWD/.carry python3 tools/qwen_reference.py --out /tmp/case [options]

    As for tools/ltx_reference.py, that diffusers imports on the GPU machine's image (Python 3.12,
    torch 2.11) with no workaround; the script only sets HF_HUB_OFFLINE=1 (all loads are local).

The two cases made for brigade's tests, on the device machine (the `run` tool, carry [".carry"]):
  case "qwen-odd": 3 blocks, 3 heads x 24 (dim 72), RoPE axes (8, 8, 8), in 16 (4 latent channels
    x 2 x 2), out 4 (proj_out 16), text width 20, batch 3, target 3 x 5 tokens + one reference 4 x 2
    (S 23, odd grids: heights and widths centre unevenly), text 7 with 0, 2, 4 trailing tokens masked,
    seed 21; 100 KB shards: fp32 (2.4 MB of weights) in about 26 shards, bf16 (1.2 MB) in about 17.
  case "qwen-wide": 2 blocks, 2 heads x 32 (dim 64), axes (8, 12, 12), in 64, out 16 (the real
    model's channels), text width 40, batch 1, target 4 x 4 + two references 3 x 5 and 2 x 6 (S 43;
    frame indices 0, 1, 2), text 12 with none masked (so the model gets mask None, as the pipeline
    passes it), seed 22; single-file checkpoints (1.3 MB fp32, 0.7 MB bf16).
  Together about 5.4 MB of random weights, which hardly compress; $OUT brings back at most 8 files
  of 16 MiB each, so the folders come back as one tarball, plus one log per case. One command line
  (CPU; add --device cuda for the GPU):

    set -o pipefail; export PYTHONPATH=$PWD/.carry PYTHONUNBUFFERED=1; G=/tmp/qwen-cases; rm -rf $G && \
    python3 tools/qwen_reference.py --out $G/qwen-odd --layers 3 --heads 3 --head-dim 24 \
        --axes-dims 8,8,8 --in-channels 16 --out-channels 4 --joint-dim 20 --batch 3 \
        --target 3,5 --refs "4,2" --text-len 7 --masked 0,2,4 --seed 21 --shard-size 100KB \
        2>&1 | tee $OUT/qwen-odd.log && \
    python3 tools/qwen_reference.py --out $G/qwen-wide --layers 2 --heads 2 --head-dim 32 \
        --axes-dims 8,12,12 --in-channels 64 --out-channels 16 --joint-dim 40 --batch 1 \
        --target 4,4 --refs "3,5;2,6" --text-len 12 --masked 0 --seed 22 \
        2>&1 | tee $OUT/qwen-wide.log && \
    tar -C $G -czf $OUT/qwen-cases.tar.gz qwen-odd qwen-wide
"""

import argparse
import json
import math
import os
import re
import shutil
import sys
from pathlib import Path

# All loads below are from local folders; make sure huggingface_hub never tries the network (the
# device machine has none) and sends no telemetry. Set before diffusers/huggingface_hub import.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import torch  # noqa: E402
import safetensors.torch  # noqa: E402

DIFFUSERS_COMMIT = "58eb52c0803ea9af3abec60841c2a093bdf1f951"
try:
    import diffusers  # noqa: E402
    from diffusers import QwenImageTransformer2DModel  # noqa: E402
    from diffusers.models.normalization import RMSNorm as DiffusersRMSNorm  # noqa: E402
except ImportError as e:
    sys.exit(f"qwen_reference: cannot import diffusers ({e}); run with PYTHONPATH=<repo>/.carry, where "
             f".carry/diffusers is src/diffusers of diffusers commit {DIFFUSERS_COMMIT}")

PATCH = 2  # the model's patch_size: a token is 2 x 2 latent pixels
PIXELS_PER_TOKEN = 8 * PATCH  # Qwen-Image's VAE compresses 8x in space


def grid(text, what):
    """'H,W' -> (H, W), both positive."""
    try:
        h, w = (int(v) for v in text.split(","))
    except ValueError:
        raise SystemExit(f"qwen_reference: {what}: expected H,W, got {text!r}")
    if h < 1 or w < 1:
        raise SystemExit(f"qwen_reference: {what}: {text!r} is not a positive grid")
    return h, w


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, type=Path, help="output folder")
    # Model shape. Defaults are those of shared/fixtures/qwenimage-tiny.
    p.add_argument("--layers", type=int, default=4, help="transformer blocks")
    p.add_argument("--heads", type=int, default=2, help="attention heads")
    p.add_argument("--head-dim", type=int, default=16, help="channels per head")
    p.add_argument("--axes-dims", default="4,6,6",
                   help="RoPE channels of the frame, height, width axes: 3 even ints summing to --head-dim")
    p.add_argument("--in-channels", type=int, default=16, help="packed channels in (latent channels x 2 x 2)")
    p.add_argument("--out-channels", type=int, default=4, help="latent channels out (proj_out gives 4x)")
    p.add_argument("--joint-dim", type=int, default=24, help="text-encoder width (joint_attention_dim)")
    # Inputs.
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--target", default="4,6", help="packed token grid H,W of the noisy target")
    p.add_argument("--refs", default="5,4", help='reference images\' token grids, "H,W;H,W" ("" for none)')
    p.add_argument("--text-len", type=int, default=9, help="text tokens L")
    p.add_argument("--masked", default=None,
                   help='trailing text tokens masked per sample, "m0,m1,..." (default: the last sample 3, '
                        "the others 0)")
    p.add_argument("--seed", type=int, default=0)
    # Checkpoint and run.
    p.add_argument("--shard-size", default=None,
                   help='save_pretrained max_shard_size for both checkpoints, e.g. "100KB" (KB = 1000 bytes) '
                        "or a byte count; default: one file")
    p.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs in --out")
    a = p.parse_args()

    for name in ["layers", "heads", "head_dim", "in_channels", "out_channels", "joint_dim", "batch", "text_len"]:
        if getattr(a, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if a.layers > 100:
        p.error("--layers: at most 100 (block names have two digits)")
    if a.in_channels % (PATCH * PATCH):
        p.error("--in-channels must be a multiple of 4 (latent channels x 2 x 2)")
    try:
        a.axes_dims = [int(v) for v in a.axes_dims.split(",")]
    except ValueError:
        p.error("--axes-dims: expected three integers")
    if len(a.axes_dims) != 3 or sum(a.axes_dims) != a.head_dim or any(d < 2 or d % 2 for d in a.axes_dims):
        p.error("--axes-dims: three even positive ints summing to --head-dim (RoPE rotates channel pairs)")
    a.target = grid(a.target, "--target")
    a.refs = [grid(r, "--refs") for r in a.refs.split(";") if r.strip()]
    if a.masked is None:
        a.masked = [0] * (a.batch - 1) + [min(3, a.text_len - 1)]
    else:
        try:
            a.masked = [int(v) for v in a.masked.split(",")]
        except ValueError:
            p.error('--masked: expected "m0,m1,...", one integer per sample')
        if len(a.masked) != a.batch:
            p.error(f"--masked: {len(a.masked)} values for a batch of {a.batch}")
    if any(not 0 <= m < a.text_len for m in a.masked):
        p.error("--masked: each sample must keep at least one text token, and none is negative")
    if a.shard_size is not None and a.shard_size.isdigit():
        a.shard_size = int(a.shard_size)  # diffusers takes an int as bytes
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
                    # std 1/sqrt(fan_in) keeps activations O(1) through each projection (the scale of
                    # qwenimage-tiny's weights too).
                    value = torch.randn(shape, generator=gen) / math.sqrt(module.in_features)
                elif isinstance(module, (torch.nn.Linear,) + norm_types) and p_name == "bias":
                    value = 0.1 * torch.randn(shape, generator=gen)
                elif isinstance(module, norm_types) and p_name == "weight":
                    # txt_norm and the per-head q/k RMSNorms (norm_q, norm_k, norm_added_q, norm_added_k).
                    value = 1.0 + 0.1 * torch.randn(shape, generator=gen)
                else:
                    raise SystemExit(f"qwen_reference: no initialisation rule for parameter {full} "
                                     f"({type(module).__name__}, shape {list(shape)})")
                param.copy_(value.to(param.dtype))
                done += 1
    total = sum(1 for _ in model.parameters())
    assert done == total, f"set {done} of {total} parameters"
    return done


def make_inputs(a, gen):
    """Random inputs, drawn on the CPU from their own generator (so they do not depend on --device).
    Packed latents are drawn directly: the 2 x 2 packing is only a layout of VAE latents."""
    s_t = a.target[0] * a.target[1]
    s_r = sum(h * w for h, w in a.refs)
    latents = torch.randn(a.batch, s_t, a.in_channels, generator=gen)
    image_latents = torch.randn(a.batch, s_r, a.in_channels, generator=gen)
    # Masked positions keep random values (as in qwenimage-tiny): the image stream must not depend on
    # them, and their own text rows are still computed and compared.
    encoder_hidden_states = torch.randn(a.batch, a.text_len, a.joint_dim, generator=gen)
    mask = torch.ones(a.batch, a.text_len, dtype=torch.float32)
    for i, m in enumerate(a.masked):
        if m:
            mask[i, a.text_len - m:] = 0.0  # padding at the end of sample i's prompt
    # Sigmas spread evenly over a schedule (0.9375, 0.25 for a batch of 2, as in qwenimage-tiny); the
    # model multiplies by 1000 in its sinusoidal embedding.
    timestep = torch.linspace(0.9375, 0.25, a.batch) if a.batch > 1 else torch.tensor([0.9375])
    inputs = {
        "latents": latents,
        "hidden_states": torch.cat([latents, image_latents], dim=1),  # the pipeline's latent_model_input
        "encoder_hidden_states": encoder_hidden_states,
        "encoder_hidden_states_mask": mask,
        "timestep": timestep.to(torch.float32),
    }
    if a.refs:  # with no reference the pipeline has no image_latents and passes latents alone
        inputs["image_latents"] = image_latents
    return {k: v.contiguous() for k, v in inputs.items()}


def img_shapes_of(a):
    """QwenImageEditPlusPipeline's img_shapes: per sample, (frame, height, width) in packed tokens of the
    target, then of each reference; the same list for every sample (pos_embed reads sample 0's)."""
    return [[(1, *a.target), *[(1, h, w) for h, w in a.refs]]] * a.batch


def cpu32(t):
    """A float32 CPU copy that owns its memory (safetensors refuses tensors that share storage)."""
    return t.detach().to("cpu", torch.float32).clone(memory_format=torch.contiguous_format)


def add_capture_hooks(model, store):
    """Forward hooks that copy the intermediates qwenimage-tiny's case file has into `store`."""
    def keep(name):
        return lambda _mod, _args, out: store.__setitem__(name, cpu32(out))

    def keep_pair(first, second):
        return lambda _mod, _args, out: store.update({first: cpu32(out[0]), second: cpu32(out[1])})

    def keep_rope(_mod, _args, out):
        img, txt = out  # complex64 [S, head_dim/2] and [L, head_dim/2]: e^(i angle) per channel pair
        store.update({"img_rope_cos": cpu32(img.real), "img_rope_sin": cpu32(img.imag),
                      "txt_rope_cos": cpu32(txt.real), "txt_rope_sin": cpu32(txt.imag)})

    handles = [
        model.img_in.register_forward_hook(keep("img_in_out")),
        model.txt_norm.register_forward_hook(keep("txt_norm_out")),
        model.txt_in.register_forward_hook(keep("txt_in_out")),
        model.time_text_embed.register_forward_hook(keep("temb")),  # [B, D]: timestep embedding
        model.pos_embed.register_forward_hook(keep_rope),
        model.norm_out.register_forward_hook(keep("norm_out_out")),
    ]
    for i, block in enumerate(model.transformer_blocks):
        # A block returns (encoder_hidden_states, hidden_states): text first.
        handles.append(block.register_forward_hook(keep_pair(f"block_{i:02d}_txt_out", f"block_{i:02d}_img_out")))
    b0 = model.transformer_blocks[0]
    # QwenDoubleStreamAttnProcessor2_0 returns (img_attn_output, txt_attn_output): image first.
    handles.append(b0.attn.register_forward_hook(keep_pair("block_00_attn_img_out", "block_00_attn_txt_out")))
    handles.append(b0.img_mlp.register_forward_hook(keep("block_00_img_mlp_out")))
    handles.append(b0.txt_mlp.register_forward_hook(keep("block_00_txt_mlp_out")))
    return handles


def forward(model, inputs, img_shapes, device):
    """One call as QwenImageEditPlusPipeline makes it (its denoising loop, conditional branch)."""
    x = {k: v.to(device) for k, v in inputs.items()}
    mask = x["encoder_hidden_states_mask"]
    # encode_prompt drops a mask with no padding (prompt_embeds_mask.all() -> None).
    mask_arg = None if bool(mask.all()) else mask
    with torch.no_grad():
        out = model(
            hidden_states=x["hidden_states"],
            timestep=x["timestep"],
            guidance=None,
            encoder_hidden_states_mask=mask_arg,
            encoder_hidden_states=x["encoder_hidden_states"],
            img_shapes=img_shapes,
            attention_kwargs={},
            return_dict=False,
        )[0]
    return cpu32(out)


def expected_rope(a, theta=10000.0):
    """The rotation angles as fixtures/README.md describes them, computed independently of diffusers:
    image k has frame index k, heights/widths are centred (-(n - n//2) ... n//2 - 1), text token j sits at
    m + j on all three axes, m = max over the images of max(h//2, w//2). Returns ([S, hd/2], [L, hd/2])."""
    def freqs(pos, dim):  # pos [N] -> angles [N, dim/2], as QwenEmbedRope.rope_params (float32)
        inv = 1.0 / torch.pow(theta, torch.arange(0, dim, 2).to(torch.float32).div(dim))
        return torch.outer(pos.to(torch.float32), inv)

    f_dim, h_dim, w_dim = a.axes_dims
    img, m = [], 0
    for k, (h, w) in enumerate([a.target] + a.refs):
        hh = torch.arange(h) - (h - h // 2)
        ww = torch.arange(w) - (w - w // 2)
        hh, ww = hh.repeat_interleave(w), ww.repeat(h)  # token (i, j) at i*w + j
        img.append(torch.cat([freqs(torch.full((h * w,), k), f_dim), freqs(hh, h_dim), freqs(ww, w_dim)], 1))
        m = max(m, h // 2, w // 2)
    t = torch.arange(a.text_len) + m
    txt = torch.cat([freqs(t, f_dim), freqs(t, h_dim), freqs(t, w_dim)], 1)
    return torch.cat(img, 0), txt


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
        raise SystemExit(f"qwen_reference: {what}: tensor names differ: "
                         f"{sorted(set(got) ^ set(expected))[:5]}")
    for k, v in expected.items():
        g = got[k].detach().cpu()
        if g.dtype != v.dtype or not torch.equal(g, v):
            raise SystemExit(f"qwen_reference: {what}: {k} differs after reload")
    # pos_embed's tables are plain tensor attributes made in __init__, not weights: make sure the
    # loader's empty-weights construction did not leave them on the meta device.
    if loaded.pos_embed.pos_freqs.device.type == "meta":
        raise SystemExit(f"qwen_reference: {what}: pos_embed tables are on the meta device")


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
                raise SystemExit(f"qwen_reference: {path} exists; remove it or pass --overwrite")
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    out.mkdir(parents=True, exist_ok=True)

    dim = a.heads * a.head_dim
    img_shapes = img_shapes_of(a)
    s_t = a.target[0] * a.target[1]
    s_r = sum(h * w for h, w in a.refs)
    print(f"diffusers {diffusers.__version__} from {os.path.dirname(diffusers.__file__)}; "
          f"torch {torch.__version__}; device {device}")
    print(f"model: {a.layers} blocks, {a.heads} heads x {a.head_dim} (dim {dim}), axes {a.axes_dims}, "
          f"in {a.in_channels}, out {a.out_channels} (x4), text width {a.joint_dim}")
    print(f"inputs: batch {a.batch}, img_shapes {img_shapes[0]} (target {s_t} + references {s_r} tokens), "
          f"text {a.text_len} tokens, masked {a.masked}")

    # 1. The model, fp32 on the CPU, with our random weights.
    torch.manual_seed(a.seed)
    model = QwenImageTransformer2DModel(
        patch_size=PATCH,
        in_channels=a.in_channels,
        out_channels=a.out_channels,
        num_layers=a.layers,
        attention_head_dim=a.head_dim,
        num_attention_heads=a.heads,
        joint_attention_dim=a.joint_dim,
        guidance_embeds=False,
        axes_dims_rope=tuple(a.axes_dims),
        zero_cond_t=False,  # FireRed-Image-Edit-1.0's flags: one timestep for target and references,
        use_additional_t_cond=False,  # no extra timestep embedding,
        use_layer3d_rope=False,  # the plain 3-axis RoPE (QwenEmbedRope)
    ).eval()
    assert all(p.dtype == torch.float32 for p in model.parameters()), "model is not float32"
    n = reinit_parameters(model, torch.Generator().manual_seed(a.seed))
    n_values = sum(p.numel() for p in model.parameters())
    print(f"weights: {n} tensors, {n_values} values")

    # 2. fp32 checkpoint, read back through diffusers' loader (exercises the shard index too).
    save(model, t32, a.shard_size)
    expected32 = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    check_same_weights(QwenImageTransformer2DModel.from_pretrained(str(t32)), expected32, "fp32 checkpoint")
    print(f"{t32}: {describe_folder(t32)}")

    # 3. The forward pass with the fp32 weights, capturing intermediates.
    inputs = make_inputs(a, torch.Generator().manual_seed(a.seed + 1))
    captured = {}
    model.to(device)
    handles = add_capture_hooks(model, captured)
    sample = forward(model, inputs, img_shapes, device)
    for h in handles:
        h.remove()
    if len([k for k in captured if re.fullmatch(r"block_\d+_img_out", k)]) != a.layers:
        raise SystemExit("qwen_reference: a block hook did not fire")
    want = (a.batch, s_t + s_r, PATCH * PATCH * a.out_channels)
    if tuple(sample.shape) != want:
        raise SystemExit(f"qwen_reference: sample has shape {list(sample.shape)}, expected {list(want)}")

    # The stored RoPE tables are diffusers' own; this only checks that README's description of them
    # (which brigade implements) still holds for these shapes.
    img_ang, txt_ang = expected_rope(a)
    for name, ang in (("img", img_ang), ("txt", txt_ang)):
        err = max((captured[f"{name}_rope_cos"] - torch.cos(ang)).abs().max().item(),
                  (captured[f"{name}_rope_sin"] - torch.sin(ang)).abs().max().item())
        print(f"{name} RoPE vs the README's positions: max abs diff {err:.3g}"
              + ("" if err < 1e-4 else "  <-- WARNING: positions differ from the description"))

    # 4. bf16 checkpoint: the same weights rounded to bfloat16 (as real checkpoints ship), read
    #    back, upcast to fp32 and run on the same inputs.
    expected16 = {k: v.to(torch.bfloat16) for k, v in expected32.items()}
    model.to("cpu", torch.bfloat16)
    save(model, t16, a.shard_size)
    del model
    model16 = QwenImageTransformer2DModel.from_pretrained(str(t16), torch_dtype=torch.bfloat16)
    check_same_weights(model16, expected16, "bf16 checkpoint")
    print(f"{t16}: {describe_folder(t16)}")
    model16 = model16.float().to(device).eval()
    sample16 = forward(model16, inputs, img_shapes, device)

    # 5. The case file.
    tensors = dict(inputs)
    tensors["sample"] = sample
    tensors["noise_pred"] = sample[:, :s_t]
    tensors["sample_from_bf16_weights"] = sample16
    tensors.update(captured)
    tensors = {k: cpu32(v) for k, v in tensors.items()}
    for k, v in tensors.items():
        if not torch.isfinite(v).all():
            raise SystemExit(f"qwen_reference: {k} has non-finite values")
    mask_passed = not bool(inputs["encoder_hidden_states_mask"].all())
    note = ("call as QwenImageEditPlusPipeline does: hidden_states = cat(latents, image_latents) along the "
            "sequence, timestep = scheduler timestep / 1000, guidance None, encoder_hidden_states_mask "
            + ("passed (float 0/1; the model makes it bool)" if mask_passed else
               "None (no padding: the pipeline drops an all-ones mask; the stored mask is all ones)")
            + "; sample covers every image token, noise_pred = sample[:, :target_tokens] is what the "
            "pipeline keeps; sample_from_bf16_weights: transformer-bf16 weights computed in fp32")
    metadata = {  # every value is JSON text, as in shared/fixtures/qwenimage-tiny/case_forward.safetensors
        "img_shapes": json.dumps([[list(s) for s in per_sample] for per_sample in img_shapes]),
        "batch": json.dumps(a.batch),
        "target_tokens": json.dumps(s_t),
        "reference_tokens": json.dumps(s_r),
        "text_tokens": json.dumps(a.text_len),
        "masked_text_tokens": json.dumps(a.masked),
        "target_pixel_height": json.dumps(a.target[0] * PIXELS_PER_TOKEN),
        "target_pixel_width": json.dumps(a.target[1] * PIXELS_PER_TOKEN),
        "checkpoint": json.dumps("transformer/"),
        "guidance": json.dumps(None),
        "seed": json.dumps(a.seed),
        "note": json.dumps(note),
        "generator": json.dumps(f"tools/qwen_reference.py, diffusers {diffusers.__version__} at commit "
                                f"{DIFFUSERS_COMMIT}, torch {torch.__version__}, device {device.type}"),
    }
    safetensors.torch.save_file(tensors, str(case), metadata=metadata)

    rel = (sample16 - sample).abs().max().item() / max(sample.abs().max().item(), 1e-30)
    print(f"{case}: {len(tensors)} tensors, {case.stat().st_size} B")
    for k, v in metadata.items():
        print(f"  meta {k} = {v}")
    for k in sorted(tensors):
        v = tensors[k]
        print(f"  {k:26s} {str(list(v.shape)):16s} max|x| {v.abs().max().item():.4g}")
    print(f"max |sample| = {sample.abs().max().item():.4g}; sample vs sample_from_bf16_weights: "
          f"max abs diff / max |sample| = {rel:.3g}")


if __name__ == "__main__":
    main()
