#!/usr/bin/env python3
r"""encode_prompt.py: text prompts (with an edit's reference images) -> the embeddings file `brigade run --embeddings` reads.

brigade runs LTX-2's text encoder itself (`brigade encode`, `brigade run --prompt`); this script
stays the reference of that and the way to precompute for the other families: it runs the
model's own text encoder the way its
diffusers pipeline does and writes what that pipeline hands its transformer. The family is told by
DIR/model_index.json's _class_name (a folder without model_index.json is taken as LTX-Video).

LTX-Video (LTXPipeline): T5, as LTXPipeline encodes (tokenizer padding to --max-tokens with
truncation, the encoder's last hidden state, the attention mask as 0/1), for each prompt and for the
negative prompt (default "", as the pipeline's); writes
    prompt_embeds [N, L, 4096], prompt_attention_mask [N, L],
    negative_prompt_embeds [N, L, 4096], negative_prompt_attention_mask [N, L]
    python3 tools/encode_prompt.py --model /path/to/LTX-Video --out prompts.h5 \
        "A red fox running through snow" "Waves on a rocky shore at dusk"
The model folder is a diffusers LTX-Video download (it has text_encoder/ and tokenizer/).

LTX-2 (LTX2Pipeline): Gemma 3 (text_encoder/, Gemma3ForConditionalGeneration; tokenizer/), as
LTX2Pipeline._get_gemma_prompt_embeds (prompts stripped, left padding to --max-tokens 1024 with
truncation, every hidden state stacked), in --dtype (float32 by default) on --device; writes
    prompt_embeds [N, L, C*K] (feature c*K + k), prompt_attention_mask [N, L],
    negative_prompt_embeds [1, L, C*K], negative_prompt_attention_mask [1, L]
the same file `brigade encode` writes (it adds the token ids).

Qwen-Image (QwenImageEditPlusPipeline: FireRed-Image-Edit, Qwen-Image-Edit-2509; also
QwenImageEditPipeline: Qwen-Image-Edit, and QwenImagePipeline: Qwen-Image): Qwen2.5-VL
(text_encoder/, Qwen2_5_VLForConditionalGeneration) with its processor (processor/, Qwen2VLProcessor;
tokenizer/ for the text-only QwenImagePipeline), loaded as the pipeline's from_pretrained loads them,
in --dtype (bfloat16 by default, as the pipeline is loaded; or float32) on --device (cpu or cuda).
As QwenImageEditPlusPipeline's _get_qwen_prompt_embeds: each --image (8-bit RGB PNGs, the same ones,
in the same order, that brigade run gets) is resized with Lanczos to about 384x384 pixels at its
aspect ratio (calculate_dimensions(384*384, W/H), sides multiples of 32); the prompt goes into the
pipeline's chat template after one "Picture N: <|vision_start|><|image_pad|><|vision_end|>" per
image; the processor tokenizes it with the images; the encoder's last hidden state of the tokens is
kept and the template's first 64 tokens (its system prompt) are dropped. The pipeline takes one
prompt per call, so each prompt is encoded alone, as its own call would; the negative prompt
(default " ", FireRed's) with the same images. (QwenImageEditPipeline: exactly one --image, resized
to about 1024x1024 pixels, its tokens inside the template; QwenImagePipeline: no image, the
tokenizer alone, 34 template tokens dropped, at most --max-tokens (512) kept.) Writes, float32,
    prompt_embeds [N, L, 3584], prompt_embeds_mask [N, L] (1 keep, 0 pad),
    negative_prompt_embeds [N, L, 3584], negative_prompt_embeds_mask [N, L]
where L is the longest of the prompts and the negative prompt: shorter ones are padded with zeros
and mask 0. brigade's run takes one L for the prompts and the negatives; the masked text tokens take
no part in the joint attention, which equals the pipeline's own lengths (and its mask of None when a
prompt has no padding). Make the embeddings, then run the edit with the same images:
    python3 tools/encode_prompt.py --model /path/to/FireRed-Image-Edit-1.0 --image REF.png \
        --out prompts.safetensors --device cuda "Turn the jacket red"
    brigade run --model /path/to/FireRed-Image-Edit-1.0 --embeddings prompts.safetensors \
        --image REF.png --out OUT
(several references: --image A.png --image B.png, in the same order in both commands).

Output: safetensors when OUT ends in .safetensors, else HDF5 (needs h5py).
Needs: pip install torch transformers sentencepiece safetensors (LTX-Video); for Qwen-Image
torch transformers (4.49 or later, with Qwen2.5-VL) pillow safetensors, and torchvision where
that transformers' Qwen2-VL image processor asks for it. Use the transformers version the
reference pipeline runs with: the processor's image resizing and the encoder's kernels are its.
"""
import argparse
import json
import math
import os
import sys

LTX2 = "LTX2Pipeline"
QWEN_EDIT_PLUS = "QwenImageEditPlusPipeline"
QWEN_EDIT = "QwenImageEditPipeline"
QWEN_T2I = "QwenImagePipeline"

# diffusers' prompt_template_encode and prompt_template_encode_start_idx (the tokens of the template
# dropped from the front of the hidden states) of each pipeline's __init__, verbatim.
QWEN_TEMPLATES = {
    QWEN_EDIT_PLUS: ("<|im_start|>system\nDescribe the key features of the input image (color, shape, size, texture, objects, background), then explain how the user's text instruction should alter or modify the image. Generate a new image that meets the user's requirements while maintaining consistency with the original input where appropriate.<|im_end|>\n<|im_start|>user\n{}<|im_end|>\n<|im_start|>assistant\n", 64),
    QWEN_EDIT: ("<|im_start|>system\nDescribe the key features of the input image (color, shape, size, texture, objects, background), then explain how the user's text instruction should alter or modify the image. Generate a new image that meets the user's requirements while maintaining consistency with the original input where appropriate.<|im_end|>\n<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>{}<|im_end|>\n<|im_start|>assistant\n", 64),
    QWEN_T2I: ("<|im_start|>system\nDescribe the image by detailing the color, shape, size, texture, quantity, text, spatial relationships of the objects and background:<|im_end|>\n<|im_start|>user\n{}<|im_end|>\n<|im_start|>assistant\n", 34),
}
QWEN_IMAGE_PROMPT = "Picture {}: <|vision_start|><|image_pad|><|vision_end|>"  # Edit Plus, per image
CONDITION_IMAGE_SIZE = 384 * 384  # Edit Plus: the area of the images the text encoder sees
EDIT_IMAGE_SIZE = 1024 * 1024  # QwenImageEditPipeline: the same image for the encoder and the VAE
TOKENIZER_MAX_LENGTH = 1024  # QwenImagePipeline's tokenizer_max_length
QWEN_MAX_TOKENS = 512  # QwenImagePipeline.__call__'s max_sequence_length


def encode(tokenizer, encoder, prompts, max_tokens):
    import torch
    tokens = tokenizer(prompts, padding="max_length", max_length=max_tokens, truncation=True,
                       add_special_tokens=True, return_tensors="pt")
    with torch.no_grad():
        embeds = encoder(tokens.input_ids)[0].float()
    return embeds.numpy(), tokens.attention_mask.float().numpy()


def calculate_dimensions(target_area, ratio):
    """diffusers' calculate_dimensions (Python's round: ties to even); returns (width, height)."""
    width = math.sqrt(target_area * ratio)
    height = width / ratio
    width = round(width / 32) * 32
    height = round(height / 32) * 32
    return width, height


def read_png(path):
    """An 8-bit RGB PNG as a PIL image; other kinds are refused, as brigade run refuses them."""
    try:
        with open(path, "rb") as f:
            head = f.read(26)
    except OSError as e:
        sys.exit(f"encode_prompt.py: --image {path}: {e.strerror}")
    if len(head) < 26 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        sys.exit(f"encode_prompt.py: --image {path}: not a PNG file (brigade run takes 8-bit RGB PNGs)")
    depth, color = head[24], head[25]
    if depth != 8 or color != 2:
        sys.exit(f"encode_prompt.py: --image {path}: a PNG of colour type {color}, bit depth {depth}; "
                 "brigade run takes 8-bit RGB PNGs only (convert it first, e.g. with ImageMagick: "
                 f"convert {path} -background white -alpha remove -alpha off PNG24:rgb.png), and "
                 "the embeddings must be made from the image brigade gets")
    from PIL import Image
    image = Image.open(path)
    image.load()
    if image.mode != "RGB":
        sys.exit(f"encode_prompt.py: --image {path}: Pillow reads it as mode {image.mode}, not RGB")
    return image


def resize(image, area, path):
    """The pipeline's image_processor.resize(image, height, width) of a PIL image: Image.resize
    with VaeImageProcessor's defaults (resample "lanczos", reducing_gap None)."""
    from PIL import Image
    width, height = calculate_dimensions(area, image.size[0] / image.size[1])
    if width < 1 or height < 1:
        sys.exit(f"encode_prompt.py: --image {path}: its aspect ratio {image.size[0]} x {image.size[1]} "
                 f"leaves a side of 0 pixels at {area} pixels")
    lanczos = getattr(Image, "Resampling", Image).LANCZOS
    return image.resize((width, height), resample=lanczos, reducing_gap=None)


def qwen_component(transformers, model, index, name, default_class):
    """The class model_index.json names for a component (as the pipeline's from_pretrained picks it)
    and the component's folder."""
    entry = index.get(name)
    class_name = entry[1] if isinstance(entry, list) and len(entry) == 2 and entry[1] else default_class
    cls = getattr(transformers, class_name, None)
    if cls is None:
        sys.exit(f"encode_prompt.py: transformers {transformers.__version__} has no {class_name} "
                 f"({name}/ of {model}); Qwen2.5-VL needs transformers 4.49 or later")
    folder = os.path.join(model, name)
    if not os.path.isdir(folder):
        sys.exit(f"encode_prompt.py: {model} has no {name}/ (the {class_name} the pipeline loads)")
    return cls, folder


def qwen_encode(family, encoder, processor, text, images, device, max_tokens):
    """One pipeline call's _get_qwen_prompt_embeds for one prompt (batch of one), then encode_prompt's
    cut to max_sequence_length (QwenImagePipeline only): [tokens, 3584] float32."""
    import torch
    template, drop_idx = QWEN_TEMPLATES[family]
    base_img_prompt = ""
    if family == QWEN_EDIT_PLUS:  # images is a list there, one "Picture N" each
        base_img_prompt = "".join(QWEN_IMAGE_PROMPT.format(i + 1) for i in range(len(images)))
    txt = [template.format(base_img_prompt + text)]
    with torch.no_grad():
        if family == QWEN_T2I:
            inputs = processor(txt, max_length=TOKENIZER_MAX_LENGTH + drop_idx, padding=True,
                               truncation=True, return_tensors="pt").to(device)
            outputs = encoder(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
                              output_hidden_states=True)
        else:
            inputs = processor(text=txt, images=images, padding=True, return_tensors="pt").to(device)
            outputs = encoder(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
                              pixel_values=inputs.get("pixel_values"),
                              image_grid_thw=inputs.get("image_grid_thw"), output_hidden_states=True)
    hidden_states = outputs.hidden_states[-1]
    kept = hidden_states[inputs["attention_mask"].bool()]  # _extract_masked_hidden, one prompt
    kept = kept[drop_idx:]
    if family == QWEN_T2I:
        kept = kept[:max_tokens]
    return kept.to(dtype=encoder.dtype).float().cpu().numpy()


def qwen_main(args, family, index):
    if family == QWEN_T2I:
        if args.image:
            sys.exit(f"encode_prompt.py: {family} makes images from text alone: no --image")
    elif not args.image:
        sys.exit(f"encode_prompt.py: {family} edits images: give the reference(s) with --image, "
                 "the same PNGs as brigade run's --image")
    elif family == QWEN_EDIT and len(args.image) != 1:
        sys.exit(f"encode_prompt.py: {family} takes one --image ({QWEN_EDIT_PLUS} takes several)")
    if args.max_tokens is not None and family != QWEN_T2I:
        sys.exit(f"encode_prompt.py: --max-tokens: {family} keeps every token of the prompt")
    if args.max_tokens is not None and not 1 <= args.max_tokens <= TOKENIZER_MAX_LENGTH:
        sys.exit(f"encode_prompt.py: --max-tokens {args.max_tokens}: 1..{TOKENIZER_MAX_LENGTH}")
    max_tokens = QWEN_MAX_TOKENS if args.max_tokens is None else args.max_tokens
    negative = " " if args.negative is None else args.negative
    try:
        import numpy as np
        import torch
        import transformers
        if family != QWEN_T2I:
            import PIL  # noqa: F401
    except ImportError:
        sys.exit("encode_prompt.py: needs torch, transformers, pillow and numpy for Qwen-Image "
                 "(pip install torch transformers pillow safetensors; torchvision where transformers "
                 "asks for it)")
    images = None
    if family == QWEN_EDIT_PLUS:
        images = [resize(read_png(p), CONDITION_IMAGE_SIZE, p) for p in args.image]
    elif family == QWEN_EDIT:
        images = resize(read_png(args.image[0]), EDIT_IMAGE_SIZE, args.image[0])
    dtype = getattr(torch, args.dtype or "bfloat16")
    version = tuple(int(v) for v in transformers.__version__.split(".")[:2] if v.isdigit())
    dtype_kw = {"dtype": dtype} if version >= (4, 56) else {"torch_dtype": dtype}
    cls, folder = qwen_component(transformers, args.model, index, "text_encoder",
                                 "Qwen2_5_VLForConditionalGeneration")
    encoder = cls.from_pretrained(folder, **dtype_kw).eval().to(args.device)
    if family == QWEN_T2I:
        cls, folder = qwen_component(transformers, args.model, index, "tokenizer", "Qwen2Tokenizer")
    else:
        cls, folder = qwen_component(transformers, args.model, index, "processor", "Qwen2VLProcessor")
    processor = cls.from_pretrained(folder)
    pos = [qwen_encode(family, encoder, processor, p, images, args.device, max_tokens)
           for p in args.prompts]
    neg = qwen_encode(family, encoder, processor, negative, images, args.device, max_tokens)
    L, C = max(e.shape[0] for e in pos + [neg]), neg.shape[1]

    def padded(rows):
        embeds = np.zeros((len(rows), L, C), np.float32)
        mask = np.zeros((len(rows), L), np.float32)
        for i, e in enumerate(rows):
            embeds[i, :e.shape[0]], mask[i, :e.shape[0]] = e, 1
        return embeds, mask

    pos_embeds, pos_mask = padded(pos)
    neg_embeds, neg_mask = padded([neg] * len(pos))
    write(args.out, {"prompt_embeds": pos_embeds, "prompt_embeds_mask": pos_mask,
                     "negative_prompt_embeds": neg_embeds, "negative_prompt_embeds_mask": neg_mask})
    lengths = ", ".join(str(e.shape[0]) for e in pos)
    print(f"{args.out}: {len(pos)} prompt(s) of {lengths} tokens, negative {neg.shape[0]}, "
          f"padded to {L}, width {C}")


def ltx2_main(args):
    """LTX2Pipeline._get_gemma_prompt_embeds: Gemma 3 (text_encoder/, Gemma3ForConditionalGeneration)
    and its tokenizer (tokenizer/), left padding to --max-tokens (1024) with truncation, every hidden
    state stacked: prompt_embeds [N, L, C*K] (feature c*K + k)."""
    import numpy as np
    import torch
    from transformers import AutoTokenizer, Gemma3ForConditionalGeneration
    dtype = getattr(torch, args.dtype or "float32")
    tokenizer = AutoTokenizer.from_pretrained(os.path.join(args.model, "tokenizer"))
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    encoder = Gemma3ForConditionalGeneration.from_pretrained(
        os.path.join(args.model, "text_encoder"), torch_dtype=dtype).eval().to(args.device)

    def encode_all(prompts):
        t = tokenizer([p.strip() for p in prompts], padding="max_length", max_length=args.max_tokens,
                      truncation=True, add_special_tokens=True, return_tensors="pt")
        with torch.no_grad():
            out = encoder(input_ids=t.input_ids.to(args.device),
                          attention_mask=t.attention_mask.to(args.device), output_hidden_states=True)
        embeds = torch.stack(out.hidden_states, dim=-1).flatten(2, 3).float().cpu().numpy()
        return np.ascontiguousarray(embeds), t.attention_mask.float().numpy()

    pos, pos_mask = encode_all(args.prompts)
    neg, neg_mask = encode_all([args.negative])
    write(args.out, {"prompt_embeds": pos, "prompt_attention_mask": pos_mask,
                     "negative_prompt_embeds": neg, "negative_prompt_attention_mask": neg_mask})
    print(f"{args.out}: {len(args.prompts)} prompt(s), tokens {pos_mask.sum(1).astype(int).tolist()}, "
          f"negative {int(neg_mask.sum())}, padded to {args.max_tokens}, width {pos.shape[2]}")


def write(out, tensors):
    tmp = out + ".tmp"
    if out.endswith(".safetensors"):
        from safetensors.numpy import save_file
        save_file(tensors, tmp)
    else:
        import h5py
        with h5py.File(tmp, "w") as f:
            for name, value in tensors.items():
                f.create_dataset(name, data=value)
    os.replace(tmp, out)


def model_family(model):
    path = os.path.join(model, "model_index.json")
    if not os.path.exists(path):
        return "LTXPipeline", {}
    try:
        with open(path) as f:
            index = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f"encode_prompt.py: {path}: {e}")
    family = index.get("_class_name") if isinstance(index, dict) else None
    if family not in ("LTXPipeline", LTX2) and family not in QWEN_TEMPLATES:
        sys.exit(f"encode_prompt.py: {path}: _class_name {family!r}; this encodes for LTXPipeline, "
                 f"{LTX2}, {QWEN_EDIT_PLUS}, {QWEN_EDIT} and {QWEN_T2I}")
    return family, index


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("prompts", nargs="+", help="one job per prompt")
    ap.add_argument("--model", required=True,
                    help="diffusers pipeline folder (LTX-Video, or Qwen-Image / FireRed-Image-Edit)")
    ap.add_argument("--out", required=True, help="output file (.h5 or .safetensors)")
    ap.add_argument("--negative", default=None,
                    help='negative prompt for every job (default: "" for LTX-Video, " " for Qwen-Image)')
    ap.add_argument("--max-tokens", type=int, default=None,
                    help="as the pipeline's max_sequence_length (LTX-Video 128; QwenImagePipeline 512)")
    ap.add_argument("--image", action="append", default=[], metavar="REF.png",
                    help="Qwen-Image edits: a reference image, as brigade run's --image (repeat for "
                         "several, in the same order)")
    ap.add_argument("--device", default=None, help="Qwen-Image and LTX-2: cpu (default) or cuda")
    ap.add_argument("--dtype", default=None, choices=["bfloat16", "float32"],
                    help="Qwen-Image: the text encoder's weights (default bfloat16, as the pipeline); LTX-2: "
                         "default float32")
    args = ap.parse_args()
    family, index = model_family(args.model)
    if family == LTX2:
        args.device = args.device or "cpu"
        args.negative = "" if args.negative is None else args.negative
        args.max_tokens = args.max_tokens or 1024
        return ltx2_main(args)
    if family != "LTXPipeline":
        args.device = args.device or "cpu"
        return qwen_main(args, family, index)
    for name, value in (("--image", args.image), ("--device", args.device), ("--dtype", args.dtype)):
        if value:
            sys.exit(f"encode_prompt.py: {name} is for Qwen-Image models; LTX-Video's T5 runs on the "
                     "CPU in float32")
    args.negative = "" if args.negative is None else args.negative
    args.max_tokens = 128 if args.max_tokens is None else args.max_tokens
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
    write(args.out, tensors)
    print(f"{args.out}: {len(args.prompts)} prompt(s), {args.max_tokens} tokens, width {pos.shape[2]}")


if __name__ == "__main__":
    main()
