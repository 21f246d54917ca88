#!/usr/bin/env python3
"""trace_svg.py: draws a `brigade run --trace` file as an SVG picture of the pipeline: one row per
rank, time to the right, a box per span (compute coloured by micro-batch, the last rank's output
side darker, waits and transfers grey), so the fill, the steady state and the drain show at a
glance (docs/schedule.md uses it). Standard library only.

    python3 tools/trace_svg.py TRACE.json OUT.svg [--from SECONDS] [--to SECONDS] [--title TEXT]
"""
import argparse
import json
import os

COLOURS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7"]
ROW, GAP, LEFT, WIDTH, TOP = 28, 8, 70, 1100, 40


def spans(path, t_from, t_to):
    events = json.load(open(path))["traceEvents"]
    out = []
    for e in events:
        if e.get("ph") != "X":
            continue
        t0, t1 = e["ts"] / 1e6, (e["ts"] + e["dur"]) / 1e6
        if t1 < t_from or (t_to is not None and t0 > t_to):
            continue
        out.append((e["tid"], t0, t1, e["cat"], e["args"]["step"], e["args"]["micro_batch"]))
    return out


def fill(cat, micro):
    if cat == "compute":
        return COLOURS[micro % len(COLOURS)]
    if cat == "output":
        return "#333333"
    return "#bbbbbb" if cat == "receive" else "#dddddd"


def draw(items, t_from, t_to, title):
    ranks = max(i[0] for i in items) + 1
    t_to = t_to if t_to is not None else max(i[2] for i in items)
    scale = WIDTH / (t_to - t_from)
    height = TOP + ranks * (ROW + GAP) + 40
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{LEFT + WIDTH + 20}" height="{height}" '
           'font-family="sans-serif" font-size="12">',
           f'<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{LEFT}" y="20" font-size="14">{title}</text>']
    for r in range(ranks):
        y = TOP + r * (ROW + GAP)
        svg.append(f'<text x="8" y="{y + ROW * 0.65:.0f}">rank {r}</text>')
    for rank, t0, t1, cat, step, micro in items:
        x0 = LEFT + (max(t0, t_from) - t_from) * scale
        x1 = LEFT + (min(t1, t_to) - t_from) * scale
        y = TOP + rank * (ROW + GAP) + (0 if cat in ("compute", "output") else ROW * 0.3)
        h = ROW if cat in ("compute", "output") else ROW * 0.4
        svg.append(f'<rect x="{x0:.2f}" y="{y:.1f}" width="{max(x1 - x0, 0.5):.2f}" height="{h:.1f}" '
                   f'fill="{fill(cat, micro)}"><title>{cat} step {step} micro-batch {micro} '
                   f'{(t1 - t0) * 1e3:.1f} ms</title></rect>')
        if cat == "compute" and x1 - x0 > 22:
            svg.append(f'<text x="{x0 + 3:.1f}" y="{y + ROW * 0.65:.1f}" fill="white">m{micro}</text>')
    y = TOP + ranks * (ROW + GAP) + 15
    for k in range(11):  # a time axis in ten parts
        t = t_from + k * (t_to - t_from) / 10
        x = LEFT + (t - t_from) * scale
        svg.append(f'<text x="{x:.0f}" y="{y}" text-anchor="middle">{t:.2f} s</text>')
    svg.append(f'<text x="{LEFT}" y="{y + 18}">colours: compute by micro-batch; dark: the last '
               'rank\'s output side and scheduler step; grey: waiting for or moving the baton</text>')
    svg.append("</svg>")
    return "\n".join(svg) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trace")
    ap.add_argument("out")
    ap.add_argument("--from", dest="t_from", type=float, default=0.0)
    ap.add_argument("--to", dest="t_to", type=float, default=None)
    ap.add_argument("--title", default="")
    a = ap.parse_args()
    items = spans(a.trace, a.t_from, a.t_to)
    if not items:
        raise SystemExit(f"{a.trace}: no spans between {a.t_from} and {a.t_to} s")
    with open(a.out + ".tmp", "w") as f:
        f.write(draw(items, a.t_from, a.t_to, a.title or a.trace))
    os.replace(a.out + ".tmp", a.out)


if __name__ == "__main__":
    main()
