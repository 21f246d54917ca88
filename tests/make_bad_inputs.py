"""make_bad_inputs.py FIXTURE_DIR OUT_DIR: broken copies of the ltx-tiny fixture for bad_input.sh.

Each case is a transformer folder (or an inputs file) with exactly one thing wrong. Standard
library only, so that CI needs nothing beyond python3.
"""
import json
import os
import shutil
import struct
import sys

fixture, out = sys.argv[1], sys.argv[2]
src_dir = os.path.join(fixture, "transformer")
weights = open(os.path.join(src_dir, "diffusion_pytorch_model.safetensors"), "rb").read()
config = json.load(open(os.path.join(src_dir, "config.json")))


def split(blob):
    n = struct.unpack("<Q", blob[:8])[0]
    return json.loads(blob[8:8 + n]), blob[8 + n:]


def join(header, data):
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def case(name, blob=weights, cfg=config):
    d = os.path.join(out, name)
    os.makedirs(d)
    open(os.path.join(d, "diffusion_pytorch_model.safetensors"), "wb").write(blob)
    json.dump(cfg, open(os.path.join(d, "config.json"), "w"))


header, data = split(weights)
case("truncated", weights[: len(weights) - 1000])
case("header_past_end", struct.pack("<Q", len(weights) * 2) + weights[8:])

h = json.loads(json.dumps(header))
h["proj_in.bias"]["data_offsets"] = list(h["proj_in.weight"]["data_offsets"])
h["proj_in.bias"]["data_offsets"][1] = h["proj_in.bias"]["data_offsets"][0] + 4 * 32
case("overlap", join(h, data))

h = json.loads(json.dumps(header))
begin = len(data) - 16  # 32 bytes from here run 16 past the end of the data block
h["proj_out.bias"]["data_offsets"] = [begin, begin + 4 * 8]
case("out_of_range", join(h, data))

h = json.loads(json.dumps(header))
del h["transformer_blocks.3.attn1.to_q.weight"]
case("missing_tensor", join(h, data))

h = json.loads(json.dumps(header))
h["transformer_blocks.1.ff.net.2.weight"]["shape"] = [128, 32]  # same size, transposed
case("wrong_shape", join(h, data))

cfg = dict(config)
cfg["num_attention_heads"] = 4  # dim 64, consistent in itself, but the weights have 32
cfg["cross_attention_dim"] = 64
case("config_dims", weights, cfg)

# Block 2's feed-forward output overflows fp32: the numeric guard must name block 2.
name = "transformer_blocks.2.ff.net.2.weight"
begin, end = header[name]["data_offsets"]
values = struct.unpack("<%df" % ((end - begin) // 4), data[begin:end])
scaled = struct.pack("<%df" % len(values), *[v * 1e38 for v in values])
case("overflow", join(header, data[:begin] + scaled + data[end:]))

# An inputs file without `timestep`.
inputs = open(os.path.join(fixture, "case_forward.safetensors"), "rb").read()
h, d = split(inputs)
del h["timestep"]
open(os.path.join(out, "no_timestep.safetensors"), "wb").write(join(h, d))
