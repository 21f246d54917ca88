#!/usr/bin/env python3
"""encode_prompt.py: text prompts -> the embeddings file `brigade run --embeddings` reads.

Until brigade runs the text encoder itself, this runs LTX-Video's own T5 encoder the way diffusers'
LTXPipeline does (tokenizer padding to --max-tokens with truncation, the encoder's last hidden
state, the attention mask as 0/1), for each prompt and for the negative prompt (default "", as the
pipeline's), and writes
    prompt_embeds [N, L, 4096], prompt_attention_mask [N, L],
    negative_prompt_embeds [N, L, 4096], negative_prompt_attention_mask [N, L]
to OUT: safetensors when OUT ends in .safetensors, else HDF5 (needs h5py).

Needs: pip install torch transformers sentencepiece safetensors (and h5py for .h5).
    python3 tools/encode_prompt.py --model /path/to/LTX-Video --out prompts.h5 \
        "A red fox running through snow" "Waves on a rocky shore at dusk"
The model folder is a diffusers LTX-Video download (it has text_encoder/ and tokenizer/).
"""
import argparse
import sys


def encode(tokenizer, encoder, prompts, max_tokens):
    import torch
    tokens = tokenizer(prompts, padding="max_length", max_length=max_tokens, truncation=True,
                       add_special_tokens=True, return_tensors="pt")
    with torch.no_grad():
        embeds = encoder(tokens.input_ids)[0].float()
    return embeds.numpy(), tokens.attention_mask.float().numpy()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("prompts", nargs="+", help="one job per prompt")
    ap.add_argument("--model", required=True, help="diffusers LTX-Video folder")
    ap.add_argument("--out", required=True, help="output file (.h5 or .safetensors)")
    ap.add_argument("--negative", default="", help='negative prompt for every job (default "")')
    ap.add_argument("--max-tokens", type=int, default=128, help="as the pipeline's max_sequence_length")
    args = ap.parse_args()
    try:
        from transformers import T5EncoderModel, T5TokenizerFast
    except ImportError:
        sys.exit("encode_prompt.py: needs torch, transformers and sentencepiece (pip install ...)")
    tokenizer = T5TokenizerFast.from_pretrained(args.model, subfolder="tokenizer")
    encoder = T5EncoderModel.from_pretrained(args.model, subfolder="text_encoder").eval()
    pos, pos_mask = encode(tokenizer, encoder, args.prompts, args.max_tokens)
    neg, neg_mask = encode(tokenizer, encoder, [args.negative] * len(args.prompts), args.max_tokens)
    tensors = {"prompt_embeds": pos, "prompt_attention_mask": pos_mask,
               "negative_prompt_embeds": neg, "negative_prompt_attention_mask": neg_mask}
    tmp = args.out + ".tmp"
    if args.out.endswith(".safetensors"):
        from safetensors.numpy import save_file
        save_file(tensors, tmp)
    else:
        import h5py
        with h5py.File(tmp, "w") as f:
            for name, value in tensors.items():
                f.create_dataset(name, data=value)
    import os
    os.replace(tmp, args.out)
    print(f"{args.out}: {len(args.prompts)} prompt(s), {args.max_tokens} tokens, width {pos.shape[2]}")


if __name__ == "__main__":
    main()
