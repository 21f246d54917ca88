"""edit_tensors.py: small edits of a safetensors file for the tests (standard library only).

  edit_tensors.py rename IN OLD NEW OUT   tensor OLD becomes NEW (the others are kept)
  edit_tensors.py widen IN NAME OUT       NAME (F32) gets one more zero column in its last axis
  edit_tensors.py jobs IN N OUT           the prompt tensors of one job become N jobs (embeddings
                                          of job i scaled by 1 + i/4, so that each differs)
  edit_tensors.py nan IN NAME OUT         the last value of NAME (F32) becomes NaN
  edit_tensors.py drop IN NAME OUT        tensor NAME is left out
  edit_tensors.py fill IN NAME VALUE OUT  every value of NAME (F32) becomes VALUE
  edit_tensors.py meta IN KEY JSON OUT    __metadata__ KEY becomes the JSON text (or is left out
                                          when JSON is "-")
"""
import json
import struct
import sys


def read(path):
    blob = open(path, "rb").read()
    n = struct.unpack("<Q", blob[:8])[0]
    return json.loads(blob[8:8 + n]), blob[8 + n:]


def write(path, header, tensors):
    """tensors: name -> (dtype, shape, bytes); metadata kept from header."""
    out, data = {}, b""
    if "__metadata__" in header:
        out["__metadata__"] = header["__metadata__"]
    for name, (dtype, shape, raw) in tensors.items():
        out[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(out).encode()
    text += b" " * (-len(text) % 8)
    open(path, "wb").write(struct.pack("<Q", len(text)) + text + data)


def tensors_of(header, data):
    return {k: (v["dtype"], v["shape"], data[v["data_offsets"][0]:v["data_offsets"][1]])
            for k, v in header.items() if k != "__metadata__"}


op, src = sys.argv[1], sys.argv[2]
header, data = read(src)
t = tensors_of(header, data)
if op == "rename":
    old, new, dst = sys.argv[3:6]
    t = {(new if k == old else k): v for k, v in t.items()}
elif op == "widen":
    name, dst = sys.argv[3:5]
    dtype, shape, raw = t[name]
    width = shape[-1] * 4
    rows = [raw[i:i + width] + b"\0\0\0\0" for i in range(0, len(raw), width)]
    t[name] = (dtype, shape[:-1] + [shape[-1] + 1], b"".join(rows))
elif op == "jobs":
    jobs, dst = int(sys.argv[3]), sys.argv[4]
    for name in [k for k in t if "prompt" in k]:
        dtype, shape, raw = t[name]
        values = struct.unpack("<%df" % (len(raw) // 4), raw)
        scaled = []
        for i in range(jobs):
            f = 1.0 + i / 4 if name.endswith("embeds") else 1.0
            scaled += [v * f for v in values]
        t[name] = (dtype, [jobs] + shape[1:], struct.pack("<%df" % len(scaled), *scaled))
elif op == "nan":
    name, dst = sys.argv[3:5]
    dtype, shape, raw = t[name]
    t[name] = (dtype, shape, raw[:-4] + struct.pack("<f", float("nan")))
elif op == "fill":
    name, value, dst = sys.argv[3], float(sys.argv[4]), sys.argv[5]
    dtype, shape, raw = t[name]
    t[name] = (dtype, shape, struct.pack("<f", value) * (len(raw) // 4))
elif op == "drop":
    name, dst = sys.argv[3:5]
    del t[name]
elif op == "meta":
    key, value, dst = sys.argv[3:6]
    meta = header.setdefault("__metadata__", {})
    if value == "-":
        meta.pop(key, None)
    else:
        meta[key] = value
else:
    sys.exit("edit_tensors.py: unknown operation " + op)
write(dst, header, t)
