#!/usr/bin/env python3
"""make_seeds.py: (re)makes the seed corpora of tests/fuzz/corpus from the shared fixtures and
tests/data, plus hand-made edge cases. The seeds are committed; this script only says where they
came from; the regress_* seeds reproduce what the fuzzers found. Real safetensors headers keep their tensor names, dtypes, ranks and metadata, but each
dimension is cut to at most 2, so that a seed stays a valid file of a few KB.
Usage: python3 tests/fuzz/make_seeds.py [FIXTURES]   (default: ../shared/fixtures)"""
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURES = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared", "fixtures")
CORPUS = os.path.join(HERE, "corpus")
SIZES = {"F64": 8, "I64": 8, "F32": 4, "I32": 4, "F16": 2, "BF16": 2, "I16": 2, "I8": 1, "U8": 1,
         "BOOL": 1}


def put(target, name, data):
    os.makedirs(os.path.join(CORPUS, target), exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(CORPUS, target, name), "wb") as f:
        f.write(data)


def st_file(header, data=b"", length=None, pad=True):
    """A .safetensors file: header (a dict or JSON text), padded with spaces to 8 bytes."""
    text = header if isinstance(header, str) else json.dumps(header, separators=(",", ":"))
    raw = text.encode()
    if pad:
        raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw) if length is None else length) + raw + data


def shrunk(path):
    """The file at path with every dimension cut to at most 2, the offsets laid out again."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    out, offset, data = {}, 0, bytearray()
    for name, e in header.items():
        if name == "__metadata__":
            out[name] = e
            continue
        shape = [min(d, 2) for d in e["shape"]]
        size = SIZES[e["dtype"]]
        for d in shape:
            size *= d
        out[name] = {"dtype": e["dtype"], "shape": shape, "data_offsets": [offset, offset + size]}
        data += bytes((offset + i) * 37 % 251 for i in range(size))
        offset += size
    return st_file(out, bytes(data))


def header_only(path):
    """The real header with no data block: every offset is past the end."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return struct.pack("<Q", n) + f.read(n)


def safetensors_seeds():
    for rel in ["ltx-tiny/case_forward.safetensors", "ltx-tiny/transformer/diffusion_pytorch_model.safetensors",
                "ltx-tiny/transformer-bf16/diffusion_pytorch_model.safetensors",
                "ltx2-tiny/case_forward_modes.safetensors", "qwenimage-tiny/case_forward.safetensors",
                "ltx-tiny/case_pipeline.safetensors"]:
        put("fuzz_safetensors", rel.replace("/", "_"), shrunk(os.path.join(FIXTURES, rel)))
    put("fuzz_safetensors", "header_only_case_forward",
        header_only(os.path.join(FIXTURES, "ltx-tiny/case_forward.safetensors")))
    a = {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}
    cases = {
        "empty_object": st_file({}),
        "kinds": st_file({"f32": a, "bf16": {"dtype": "BF16", "shape": [2, 1], "data_offsets": [16, 20]},
                          "f16": {"dtype": "F16", "shape": [2], "data_offsets": [20, 24]},
                          "i32": {"dtype": "I32", "shape": [], "data_offsets": [24, 28]},
                          "empty": {"dtype": "F32", "shape": [0, 3], "data_offsets": [28, 28]},
                          "b": {"dtype": "BOOL", "shape": [3], "data_offsets": [29, 32]},
                          "__metadata__": {"num_frames": "3", "scale": "[0.5, 32, 32]", "note": "text",
                                           "inf": "1e999", "long": json.dumps(list(range(20)))}},
                         bytes(range(32))),
        "overlap": st_file({"a": a, "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}}, bytes(24)),
        "past_end": st_file({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 999999]}}, bytes(16)),
        "length_past_end": st_file({"a": a}, bytes(16), length=1000),
        "huge_shape": st_file({"a": {"dtype": "F32", "shape": [1099511627776, 1099511627776],
                                     "data_offsets": [0, 16]}}, bytes(16)),
        "nine_dims": st_file({"a": {"dtype": "U8", "shape": [1] * 9, "data_offsets": [0, 1]}}, bytes(1)),
        "duplicate": st_file('{"a":' + json.dumps(a) + ',"a":' + json.dumps(a) + "}", bytes(16)),
        "control_name": st_file({"a\nb": a}, bytes(16)),
        "stray": st_file("{} x"),
        "nul_inside": st_file('{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}\0   '),
        "four_bytes": b"\x10\0\0\0",
    }
    for name, data in cases.items():
        put("fuzz_safetensors", name, data)


def config_seeds():
    for sub in sorted(os.listdir(FIXTURES)):
        d = os.path.join(FIXTURES, sub)
        if not os.path.isdir(d):
            continue
        for part in sorted(os.listdir(d)):
            for name in ["config.json", "scheduler_config.json"]:
                p = os.path.join(d, part, name)
                if os.path.exists(p):
                    put("fuzz_config", f"{sub}_{part}_{name}", open(p, "rb").read())
    for sub in ["ltx-odd", "ltx-wide"]:
        p = os.path.join(ROOT, "tests", "data", sub, "transformer", "config.json")
        put("fuzz_config", f"{sub}_config.json", open(p, "rb").read())
    cases = {
        "empty": "{}",
        "not_object": "[1, 2]",
        "regress_int_cast_overflow": '{"in_channels": 1e30}',
        "regress_norm_eps_underflow": '{"norm_eps": 1e-60}',
        "regress_vae_eps_underflow": '{"_class_name": "AutoencoderKLLTXVideo", "resnet_norm_eps": 1e-60}',
        "regress_vae_scale_underflow": '{"scaling_factor": 1e-50}',
        "inf": '{"num_layers": 1e999}',
        "negative": '{"num_layers": -3, "norm_eps": -1}',
        "fraction": '{"attention_head_dim": 2.5}',
        "regress_dim_overflow": '{"num_attention_heads": 65536, "attention_head_dim": 65536, "cross_attention_dim": 4}',
        "odd_dim": '{"num_attention_heads": 3, "attention_head_dim": 3, "cross_attention_dim": 9}',
        "types": '{"_class_name": 5, "activation_fn": null, "qk_norm": ["x"], "attention_bias": 1}',
        "sched": '{"_class_name": "FlowMatchEulerDiscreteScheduler", "num_train_timesteps": 1e6, '
                 '"use_dynamic_shifting": true, "base_image_seq_len": 1, "max_image_seq_len": 2, '
                 '"base_shift": -100, "max_shift": 100, "shift_terminal": 0.999}',
        "sched_linear": '{"time_shift_type": "linear", "shift": 1e-6, "num_train_timesteps": 1.5}',
    }
    for name, text in cases.items():
        put("fuzz_config", name, text)


def index_seeds():
    for sub in ["ltx-odd/transformer", "ltx-odd/transformer-bf16"]:
        p = os.path.join(ROOT, "tests", "data", sub, "diffusion_pytorch_model.safetensors.index.json")
        put("fuzz_index", sub.replace("/", "_"), open(p, "rb").read())
    cases = {
        "loads": '{"metadata": {"total_size": 12}, "weight_map": {"a": "shard.safetensors", '
                 '"b": "shard.safetensors", "ghost": "shard.safetensors"}}',
        "other_files": '{"weight_map": {"a": "config.json", "b": '
                       '"diffusion_pytorch_model.safetensors.index.json", "c": "absent.safetensors"}}',
        "escape": '{"weight_map": {"a": "../evil", "b": ".."}}',
        "control": '{"weight_map": {"a\\nb": "shard.safetensors"}}',
        "regress_control_shard": '{"weight_map": {"a": "x\\ny"}}',
        "duplicate": '{"weight_map": {"a": "s1", "a": "s2"}}',
        "empty_map": '{"weight_map": {}}',
        "not_object": '{"weight_map": [1]}',
        "not_string": '{"weight_map": {"a": 5}}',
        "regress_nul": '{"weight_map": {"a": "shard.safetensors"}}\0 trailing',
    }
    for name, text in cases.items():
        put("fuzz_index", name, text)


def h5_plan(datasets, attrs, flags=0):
    """Bytes that fuzz_h5_inputs.c decodes into this plan (see decode() there)."""
    out = bytearray([len(datasets) | len(attrs) << 3, flags])
    for name, typ, dims, layout, seed in datasets:
        out += bytes([name, typ, len(dims)]) + bytes(dims) + bytes([layout]) + struct.pack(">I", seed)
    for name, typ, rank, n, seed in attrs:
        out += bytes([name, typ, rank, n]) + struct.pack(">I", seed)
    return bytes(out)


def mix(x):
    """fuzz_h5_inputs.c's mix(): value i of an item with seed s comes from mix(s ^ i * golden)."""
    x ^= x >> 16
    x = x * 0x7FEB352D & 0xFFFFFFFF
    x ^= x >> 15
    x = x * 0x846CA68B & 0xFFFFFFFF
    return x ^ x >> 16


def seed_where(first_value_kind):
    """A seed whose value 0 of a float item is special kind k (0 NaN, 1 inf, 4 the largest)."""
    return next(s for s in range(1, 1 << 20) if mix(s) % 16 == first_value_kind)


def h5_seeds():
    # names: 0 latents, 8 timestep, 16 encoder_hidden_states, 24 num_frames, 48 rope_...,
    # 4 | 8 * k a name of 120 + k characters, 5 "bad\nname", 7 an earlier dataset's name;
    # types: 0 f32, 1 f64, 2 i8, 5 i32, 6 i64, 9 f16, 10 i128, 11 long double, 12 string,
    # 13 vlen string, 15 compound, 17 bitfield; dims: n < 4 is n, 0x40|n is n + 1, 0xc0|k is
    # 2^(16+k); layouts: 0 contiguous, 1 unwritten, 2 early, 3 chunked, 4 deflate, 5 compact,
    # 6 external; attribute ranks: 0 scalar, 3 a list of 1 + n % 16, 5 a list of n % 21,
    # 2 a matrix, 1 the null space; flags: 1 soft link, 0x0e external link, 0x10 a subgroup,
    # 0x20 a named type, 0xc0 a user block.
    finite = next(s for s in range(1, 1 << 20) if all(mix(s ^ i * 0x9E3779B9 & 0xFFFFFFFF) % 16 > 2
                                                      for i in range(3)))
    seeds = {
        "inputs": h5_plan([(0, 0, [0x40, 0x43, 0x47], 0, 1), (8, 0, [], 0, 2), (16, 1, [0x40, 0x45, 0x47], 3, 3)],
                          [(24, 1, 0, 0, finite), (48, 1, 3, 2, finite)]),
        "ints_and_halves": h5_plan([(0, 2, [0x43], 4, 7), (8, 9, [0x41, 0x41], 0, 8), (16, 5, [0x47], 5, 9),
                                    (24, 10, [0x42], 3, 4), (48, 11, [0x45], 0, 5)], []),
        "early_and_empty": h5_plan([(0, 1, [0x43, 0], 2, 1), (8, 0, [0x41], 2, 2), (16, 6, [], 2, 3)],
                                   [(24, 6, 5, 0, 3)]),
        "odd_types": h5_plan([(0, 12, [0x41], 0, 1), (8, 15, [], 0, 2), (16, 17, [0x41], 0, 3)],
                             [(24, 12, 0, 0, 1), (48, 13, 3, 2, 2), (56, 15, 0, 0, 2)]),
        "links": h5_plan([(0, 0, [0x41], 0, 1)], [], flags=0x01 | 0x0E | 0x10 | 0x20),
        "userblock": h5_plan([(0, 0, [0x41], 0, 1)], [], flags=0xC0),
        "external_storage": h5_plan([(0, 0, [0x43], 6, 1)], []),
        "attr_not_setting": h5_plan([], [(24, 1, 2, 0x25, finite), (48, 1, 1, 0, 1), (56, 1, 5, 17, finite)]),
        # Found by the fuzzer (each reproduced here by hand) before the fixes in src/io/h5file.c:
        # a failed read left the tensors read before the failure in the caller's set;
        "regress_failed_read_rollback": h5_plan([(0, 0, [0x41], 0, 1), (4 | 8 * 15, 0, [0x41], 0, 2)], []),
        # a NaN root attribute became a setting;
        "regress_nan_setting": h5_plan([], [(24, 1, 0, 0, seed_where(0))]),
        "regress_inf_setting": h5_plan([], [(24, 1, 0, 0, seed_where(1))]),
        # a name with a newline went into the error message;
        "regress_control_name": h5_plan([(5, 0, [0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41], 0, 1)], []),
        # a dataset of 2^33 floats with nothing stored was allocated (32 GiB) before being read;
        "regress_unwritten_32gib": h5_plan([(0, 0, [0xC0 | 17], 0, 1)], []),
        "regress_unwritten_chunked": h5_plan([(0, 0, [0xC0 | 1, 0xC0 | 0], 3, 1)], []),
        # an empty [2^47, 2^17, 0] overflowed int64 in br_numel (signed overflow, UBSan).
        "regress_empty_dims_overflow": h5_plan([(0, 0, [0xC0 | 31, 0xC0 | 1, 0], 0, 1)], []),
    }
    for name, data in seeds.items():
        put("fuzz_h5_inputs", name, data)


if __name__ == "__main__":
    safetensors_seeds()
    config_seeds()
    index_seeds()
    h5_seeds()
