"""ltx2_latents.py: LTX-2's packed latents (the video's tokens, then the audio's: what
`brigade run` reads with --latents and writes to latents.h5) from the pipeline fixture's tensors
(standard library only).

  ltx2_latents.py join CASE OUT VIDEO AUDIO NAME [VIDEO AUDIO NAME ...]
                                                  packed VIDEO [B, S, C] joined with AUDIO
                                                  [B, Sa, C] as NAME, for each triple (two
                                                  vectors: one after the other)
  ltx2_latents.py final CASE AUDIO_VAE OUT [PREFIX] the last step's video state (PREFIX +
                                                  "step_NN_latents") joined with audio_latents_out
                                                  packed and normalised again by the audio VAE's
                                                  latents_mean / latents_std, as "latents"
  ltx2_latents.py png CASE NAME OUT              the uint8 image NAME [H, W, 3] as an RGB PNG
Each but png writes tensors [B, S + Sa, C] to OUT (safetensors).
"""
import json
import struct
import sys
import zlib


def read(path):
    blob = open(path, "rb").read()
    n = struct.unpack("<Q", blob[:8])[0]
    header, data = json.loads(blob[8:8 + n]), blob[8 + n:]
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        raw = data[v["data_offsets"][0]:v["data_offsets"][1]]
        values = list(raw) if v["dtype"] == "U8" else list(struct.unpack("<%df" % (len(raw) // 4), raw))
        out[k] = (v["shape"], values)
    return out


def write_png(path, image):
    (H, W, _), rgb = image
    rows = b"".join(b"\0" + bytes(rgb[y * W * 3:(y + 1) * W * 3]) for y in range(H))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", W, H, 8, 2, 0, 0, 0)
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
                           chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def write(path, tensors):
    """tensors: [(name, shape, values)]"""
    header, data = {}, b""
    for name, shape, values in tensors:
        raw = struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    open(path, "wb").write(struct.pack("<Q", len(text)) + text + data)


def join(video, audio):
    (vs, v), (as_, a) = video, audio
    if len(vs) == 1:  # two lists of values (a run's timesteps, stage by stage)
        return [vs[0] + as_[0]], v + a
    B, S, C = vs
    Sa = as_[1]
    out = []
    for b in range(B):
        out += v[b * S * C:(b + 1) * S * C] + a[b * Sa * C:(b + 1) * Sa * C]
    return [B, S + Sa, C], out


def pack_normalised(unpacked, mean, std):
    """[B, C, L, M] -> [B, L, C*M], feature c*M + m, then (x - mean) / std per feature."""
    (B, C, L, M), x = unpacked
    out = []
    for b in range(B):
        for t in range(L):
            for c in range(C):
                for m in range(M):
                    f = c * M + m
                    out.append((x[((b * C + c) * L + t) * M + m] - mean[f]) / std[f])
    return [B, L, C * M], out


case = read(sys.argv[2])
if sys.argv[1] == "png":
    write_png(sys.argv[4], case[sys.argv[3]])
elif sys.argv[1] == "join":
    triples = sys.argv[4:]
    write(sys.argv[3], [(triples[i + 2],) + join(case[triples[i]], case[triples[i + 1]])
                        for i in range(0, len(triples), 3)])
else:
    vae = read(sys.argv[3])
    prefix = (sys.argv[5] if len(sys.argv) > 5 else "") + "step_"
    last = sorted(k for k in case if k.startswith(prefix) and k.endswith("_latents")
                  and "audio" not in k)[-1]
    audio = pack_normalised(case["audio_latents_out"], vae["latents_mean"][1], vae["latents_std"][1])
    write(sys.argv[4], [("latents",) + join(case[last], audio)])
