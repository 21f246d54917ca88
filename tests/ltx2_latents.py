"""ltx2_latents.py: LTX-2's packed latents (the video's tokens, then the audio's: what
`brigade run` reads with --latents and writes to latents.h5) from the pipeline fixture's tensors
(standard library only).

  ltx2_latents.py start CASE OUT            latents_start joined with audio_latents_start
  ltx2_latents.py final CASE AUDIO_VAE OUT  the last step's video state joined with
                                            audio_latents_out packed and normalised again by
                                            the audio VAE's latents_mean / latents_std
Each writes tensor "latents" [B, S + Sa, C] to OUT (safetensors).
"""
import json
import struct
import sys


def read(path):
    blob = open(path, "rb").read()
    n = struct.unpack("<Q", blob[:8])[0]
    header, data = json.loads(blob[8:8 + n]), blob[8 + n:]
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        raw = data[v["data_offsets"][0]:v["data_offsets"][1]]
        out[k] = (v["shape"], list(struct.unpack("<%df" % (len(raw) // 4), raw)))
    return out


def write(path, name, shape, values):
    raw = struct.pack("<%df" % len(values), *values)
    header = json.dumps({name: {"dtype": "F32", "shape": shape, "data_offsets": [0, len(raw)]}}).encode()
    header += b" " * (-len(header) % 8)
    open(path, "wb").write(struct.pack("<Q", len(header)) + header + raw)


def join(video, audio):
    (vs, v), (as_, a) = video, audio
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
if sys.argv[1] == "start":
    shape, values = join(case["latents_start"], case["audio_latents_start"])
    write(sys.argv[3], "latents", shape, values)
else:
    vae = read(sys.argv[3])
    last = sorted(k for k in case if k.startswith("step_") and k.endswith("_latents")
                  and "audio" not in k)[-1]
    audio = pack_normalised(case["audio_latents_out"], vae["latents_mean"][1], vae["latents_std"][1])
    shape, values = join(case[last], audio)
    write(sys.argv[4], "latents", shape, values)
