"""Fold several `throughput.py --json` files into one table of per-configuration medians.

    python benchmarks/median.py run1.json run2.json run3.json [--markdown] [--json OUT]

Each configuration's tok/s, PyTorch tok/s and ratio are the medians of the runs' own figures
(the ratio's median is taken over the runs' ratios, not recomputed from the median rates); the
per-run ratios are printed beside it, so a thin margin shows how thin it is.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys

KEY = ("kind", "cell", "hidden", "batch", "seq", "layers")


def load(paths: list[str]) -> dict[tuple, list[dict]]:
    groups: dict[tuple, list[dict]] = {}
    for p in paths:
        try:
            with open(p) as f:
                rows = json.load(f)
        except (OSError, ValueError) as e:
            raise SystemExit(f"median.py: cannot read {p}: {e}") from None
        for r in rows:
            key = tuple(r.get(k) for k in KEY) + (r.get("optimizer", ""),)
            groups.setdefault(key, []).append(r)
    return groups


def summarise(groups: dict[tuple, list[dict]]) -> list[dict]:
    out = []
    for key, rs in groups.items():
        s = dict(zip(KEY + ("optimizer",), key, strict=True))
        s["runs"] = len(rs)
        s["tok_s"] = statistics.median(r["tok_s"] for r in rs)
        if all("ratio" in r for r in rs):
            s["torch_tok_s"] = statistics.median(r["torch_tok_s"] for r in rs)
            s["ratios"] = [r["ratio"] for r in rs]
            s["ratio"] = statistics.median(s["ratios"])
        out.append(s)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", help="JSON files written by throughput.py --json")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    ap.add_argument("--json", metavar="FILE", help="write the medians to FILE")
    args = ap.parse_args(argv)
    rows = summarise(load(args.files))
    if args.markdown:
        print("| kind | cell | H | B | T | layers | rnn-tui tok/s | PyTorch tok/s | ratio | runs |")
        print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        tag = r["optimizer"] and f" ({r['optimizer']})"
        ratio = (f"{r['ratio']:.2f}×" if "ratio" in r else "")
        runs = ", ".join(f"{x:.2f}" for x in r.get("ratios", []))
        torch = f"{r['torch_tok_s'] / 1e3:.1f}k" if "torch_tok_s" in r else ""
        if args.markdown:
            print(f"| {r['kind']} | {r['cell']}{tag} | {r['hidden']} | {r['batch']} | {r['seq']} | "
                  f"{r['layers']} | {r['tok_s'] / 1e3:.1f}k | {torch} | {ratio} | {runs} |")
        else:
            print(f"{r['kind']:6} {r['cell']:5} H{r['hidden']:<4} B{r['batch']:<3} T{r['seq']:<3} "
                  f"L{r['layers']}  {r['tok_s']:>11,.0f} tok/s  {torch:>8}  {ratio:>7}  "
                  f"runs {runs}")
    train = [r["ratio"] for r in rows if r["kind"] == "train" and "ratio" in r]
    if train:
        gm = math.exp(sum(math.log(x) for x in train) / len(train))
        print(f"training (medians): min {min(train):.2f}x, geometric mean {gm:.2f}x",
              file=sys.stderr)
    sample = [r for r in rows if r["kind"] == "sample" and "ratio" in r]
    if sample:
        worst = min(sample, key=lambda r: r["ratio"])
        print(f"sampling (medians): min {worst['ratio']:.2f}x ({worst['cell']} H{worst['hidden']} "
              f"L{worst['layers']})", file=sys.stderr)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
