#!/usr/bin/env python3
r"""gemma_reference.py: ground truth for brigade's Gemma 3 text encoder (LTX-2.3's), by transformers.

What it is for
    brigade runs LTX-2.3's text encoder itself: Gemma 3's tokenizer (SentencePiece) and its text
    model, whose every hidden state feeds the text connectors. This script builds a tiny
    Gemma3ForConditionalGeneration of the real layout with random weights, tokenizes prompts exactly
    as diffusers' LTX2Pipeline._get_gemma_prompt_embeds does (stripped, left padding, pad = <pad>,
    max_length, truncation, special tokens), runs the model as that pipeline does
    (output_hidden_states, eager attention, fp32, CPU) and writes what the pipeline hands on, then
    the connectors' outputs (diffusers' LTX2TextConnectors of the ltx2-tiny fixture) from them.

The model (text side; the vision tower is tiny and unused, as in the pipeline)
    hidden 24 (= ltx2-tiny connectors' caption_channels), 2 layers (so 3 hidden states = the
    connectors' text_proj_in_factor): layer 0 sliding-window (window 4, RoPE base 10000), layer 1
    global (RoPE base 1e6 with linear scaling 8, as Gemma 3 12B); 2 query heads, 1 key/value head,
    head dim 16, query_pre_attn_scalar 12 (not the head dim, so the scale is tested), intermediate
    40, gelu_pytorch_tanh; every weight random, the norms' too (Gemma's RMSNorm multiplies by 1 + w).
    The vocabulary is the tiny SentencePiece model of tokenizer/ (tools/gemma_tokenizer.sh).

What it writes, under --out DIR
    DIR/text_encoder/        config.json + model.safetensors (Gemma3ForConditionalGeneration, fp32)
    DIR/text_encoder-bf16/   the same weights rounded to bf16, stored as BF16
    DIR/tokenizer/           tokenizer.model (copied from --spm), tokenizer_config.json,
                             special_tokens_map.json and tokenizer.json as transformers saves them
    DIR/prompts.json         {"prompts": [...], "negative_prompt": "..."}: the texts as given
    DIR/case_prompts.safetensors, float32:
        input_ids [N, L], attention_mask [N, L] (1 keep, 0 pad; L = --max-length, left padding),
        hidden_states [N, L, C*K] (torch.stack(all hidden states, -1).flatten(2): feature c*K + k;
        K = layers + 1: the scaled embeddings, each layer's output, the last one after the final
        norm; the padding rows hold what the model computes for them, which nothing uses),
        hidden_states_kept (the same with the padding rows zero: what brigade writes),
        video_embeds [N, L, 32] and audio_embeds [N, L, 16] (the connectors' outputs),
        token_counts [N] (tokens before padding, after truncation), untruncated_counts [N] (the
        prompt's tokens with <bos> before truncation)
    DIR/case_run.safetensors: the embeddings file `brigade run --embeddings` reads for prompt 1 and
        the negative prompt: prompt_embeds, prompt_attention_mask, negative_prompt_embeds,
        negative_prompt_attention_mask
    Prompts: 0 empty, 1 plain ASCII with spaces to strip, 2 French, Japanese and an emoji (byte
    fallback), 3 about 3000 tokens (truncated to L); the negative prompt is Gemma's usual.

How to run (the GPU machine has torch, transformers 5 and sentencepiece; CPU is used)
    tools/gemma_tokenizer.sh /tmp/spm     # here: Debian's spm_train
    PYTHONPATH=$PWD/.carry python3 tools/gemma_reference.py --spm tests/data/gemma-tiny/tokenizer/tokenizer.model \
        --connectors $FIXTURES/ltx2-tiny/connectors --out tests/data/gemma-tiny
"""
import argparse
import copy
import json
import os
import shutil

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
from safetensors.torch import save_file

PROMPTS = [
    "",
    "   A red fox running through fresh snow at dawn, its breath visible.  \n",
    "Un renard roux court dans la neige fra\u00eeche \u00e0 l'aube. \u5915\u66ae\u308c\u306e\u6d77\u8fba \U0001F98A",
    " ".join(["The camera slowly pans across a quiet city street after the rain 2026."] * 140),
]
NEGATIVE = "worst quality, inconsistent motion, blurry, jittery, distorted"


def tokenizer_dir(spm, out):
    from transformers import AutoTokenizer
    d = os.path.join(out, "tokenizer")
    os.makedirs(d, exist_ok=True)
    if os.path.abspath(spm) != os.path.abspath(os.path.join(d, "tokenizer.model")):
        shutil.copy(spm, os.path.join(d, "tokenizer.model"))
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "GemmaTokenizer", "bos_token": "<bos>", "eos_token": "<eos>",
                   "pad_token": "<pad>", "unk_token": "<unk>", "add_bos_token": True,
                   "add_eos_token": False, "model_max_length": 1000000}, f, indent=2)
    tok = AutoTokenizer.from_pretrained(d)
    tok.save_pretrained(d)
    return AutoTokenizer.from_pretrained(d)


def build_model(vocab, seed):
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration
    text = dict(vocab_size=vocab, hidden_size=24, intermediate_size=40, num_hidden_layers=2,
                num_attention_heads=2, num_key_value_heads=1, head_dim=16, query_pre_attn_scalar=12,
                sliding_window=4, layer_types=["sliding_attention", "full_attention"],
                rope_theta=1000000.0, rope_scaling={"rope_type": "linear", "factor": 8.0},
                rope_local_base_freq=10000.0, rms_norm_eps=1e-6,
                hidden_activation="gelu_pytorch_tanh", max_position_embeddings=4096,
                pad_token_id=0, eos_token_id=1, bos_token_id=2)
    vision = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                  image_size=28, patch_size=14, vision_use_head=False)
    cfg = Gemma3Config(text_config=text, vision_config=vision, mm_tokens_per_image=4)
    cfg._attn_implementation = "eager"
    cfg.text_config._attn_implementation = "eager"
    torch.manual_seed(seed)
    model = Gemma3ForConditionalGeneration(cfg).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim == 1:  # norms (1 + w) and biases
                p.normal_(0.0, 0.3)
            elif "embed_tokens" in name:
                p.normal_(0.0, 1.0)
            else:
                p.normal_(0.0, 1.0 / p.shape[-1] ** 0.5)
    return model


def tokenize(tok, prompts, max_length):
    # LTX2Pipeline._get_gemma_prompt_embeds, as it is
    tok.padding_side = "left"
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    prompts = [p.strip() for p in prompts]
    t = tok(prompts, padding="max_length", max_length=max_length, truncation=True,
            add_special_tokens=True, return_tensors="pt")
    full = [len(tok(p, add_special_tokens=True).input_ids) for p in prompts]
    return t.input_ids, t.attention_mask, full


def encode(model, ids, mask):
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
    hs = torch.stack(out.hidden_states, dim=-1)
    return hs.flatten(2, 3).float().contiguous()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spm", required=True, help="the SentencePiece model (tools/gemma_tokenizer.sh)")
    ap.add_argument("--connectors", required=True, help="ltx2-tiny/connectors")
    ap.add_argument("--out", required=True)
    ap.add_argument("--max-length", type=int, default=1024)
    ap.add_argument("--seed", type=int, default=22)
    a = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.set_grad_enabled(False)
    os.makedirs(a.out, exist_ok=True)
    tok = tokenizer_dir(a.spm, a.out)
    model = build_model(len(tok), a.seed)
    te = os.path.join(a.out, "text_encoder")
    model.save_pretrained(te, safe_serialization=True)
    # The bf16 copy from a copy: .to() converts in place, buffers too (the embedding scale, the
    # RoPE frequencies), which would change the fp32 model the reference runs.
    copy.deepcopy(model).to(torch.bfloat16).save_pretrained(te + "-bf16", safe_serialization=True)
    print(json.dumps(model.config.text_config.to_dict(), default=str)[:2000])

    ids, mask, full = tokenize(tok, PROMPTS, a.max_length)
    hidden = encode(model, ids, mask)
    from diffusers.pipelines.ltx2.connectors import LTX2TextConnectors
    conn = LTX2TextConnectors.from_pretrained(a.connectors).float().eval()
    video, audio, _ = conn(hidden, mask)
    kept = (hidden * mask[:, :, None]).contiguous()
    case = {"input_ids": ids.float(), "attention_mask": mask.float(), "hidden_states": hidden,
            "hidden_states_kept": kept,
            "video_embeds": video.float().contiguous(), "audio_embeds": audio.float().contiguous(),
            "token_counts": mask.sum(1).float(), "untruncated_counts": torch.tensor(full).float()}
    save_file(case, os.path.join(a.out, "case_prompts.safetensors"),
              metadata={"generator": "tools/gemma_reference.py", "seed": str(a.seed)})

    nids, nmask, _ = tokenize(tok, [NEGATIVE], a.max_length)
    neg = encode(model, nids, nmask)
    run = {"prompt_embeds": hidden[1:2].contiguous(), "prompt_attention_mask": mask[1:2].float(),
           "negative_prompt_embeds": neg, "negative_prompt_attention_mask": nmask.float()}
    save_file(run, os.path.join(a.out, "case_run.safetensors"))
    with open(os.path.join(a.out, "prompts.json"), "w", encoding="utf-8") as f:
        json.dump({"prompts": PROMPTS, "negative_prompt": NEGATIVE}, f, ensure_ascii=False, indent=1)
    print("token counts", mask.sum(1).tolist(), "untruncated", full)
    print("ids of prompt 2", ids[2][mask[2] == 1].tolist())


if __name__ == "__main__":
    main()
