"""Training and sampling throughput of the rnn-tui core, optionally beside PyTorch.

Training step = embedding(65 -> 64) -> recurrent layer(s) -> dense(65) -> softmax cross-entropy ->
backward -> Adam, float32, on random tokens. Sampling = batch 1, one token at a time, state carried,
softmax + multinomial draw. Each figure is the median over repeated timed runs after warm-up.

    python benchmarks/throughput.py [--quick] [--compare-torch] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time

import numpy as np

TRAIN_CONFIGS = [  # (hidden, batch, seq, layers)
    (128, 32, 64, 1), (256, 32, 64, 1), (512, 32, 64, 1), (128, 1, 25, 1), (256, 32, 64, 2),
]
SAMPLE_CONFIGS = [(128, 1), (256, 1), (512, 1), (256, 2)]  # (hidden, layers)
CELLS = ["rnn", "lstm", "gru"]
V, E = 65, 64


def median_rate(fn, work, repeats, min_time=0.25):
    """Median of ``work / seconds`` over ``repeats`` timed runs of ``fn`` (each at least
    ``min_time`` long, batching calls as needed), after one warm-up."""
    fn()
    t = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t, 1e-7)
    inner = max(1, int(min_time / one))
    rates = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(inner):
            fn()
        rates.append(work * inner / (time.perf_counter() - t))
    return statistics.median(rates)


def ours_train(cell, H, B, T, L, repeats, optimizer="adam", embed=E):
    from rnn_tui.core import NetSpec, Network, make_optimizer
    from rnn_tui.core.fast.fused import FusedLM

    net = Network(NetSpec(cell=cell, input_mode="embedding" if embed else "onehot",
                          input_size=V, embed_dim=max(embed, 1), hidden=H, layers=L,
                          output_size=V))
    from rnn_tui import runtime

    fused = FusedLM(net, T, B, workers=runtime.threads_in_use)
    opt = make_optimizer(optimizer, net.params.data.size, lr=1e-3)
    rng = np.random.default_rng(0)
    x = rng.integers(0, V, (T, B))
    y = rng.integers(0, V, (T, B))
    state = net.initial_state(B)

    def step():
        fused.loss_and_grad(x, y, state)
        opt.step(net.params.data, net.params.grad)

    return median_rate(step, B * T, repeats)


def ours_sample(cell, H, L, repeats, n=200):
    from rnn_tui.core import NetSpec, Network
    from rnn_tui.models.language import generate_here

    net = Network(NetSpec(cell=cell, input_mode="embedding", input_size=V, embed_dim=E,
                          hidden=H, layers=L, output_size=V))
    rng = np.random.default_rng(0)

    def run():
        st = net.initial_state(1)
        h = np.ascontiguousarray(st.h[:, 0])
        c = None if st.c is None else np.ascontiguousarray(st.c[:, 0])
        generate_here(net, 0, n, h, c, 1.0, 0, rng.random(n))

    return median_rate(run, n, repeats)


def torch_train(cell, H, B, T, L, repeats):
    import torch

    mod = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    emb, rnn, head = torch.nn.Embedding(V, E), mod(E, H, L), torch.nn.Linear(H, V)
    params = list(emb.parameters()) + list(rnn.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    x = torch.randint(0, V, (T, B))
    y = torch.randint(0, V, (T, B))
    lossf = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        out, _ = rnn(emb(x))
        loss = lossf(head(out).reshape(-1, V), y.reshape(-1))
        loss.backward()
        opt.step()

    return median_rate(step, B * T, repeats)


def torch_sample(cell, H, L, repeats, n=200):
    import torch

    mod = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    emb, rnn, head = torch.nn.Embedding(V, E), mod(E, H, L), torch.nn.Linear(H, V)

    def run():
        with torch.no_grad():
            state = None
            tok = torch.zeros((1, 1), dtype=torch.long)
            for _ in range(n):
                out, state = rnn(emb(tok), state)
                p = torch.softmax(head(out[0]), dim=-1)
                tok = torch.multinomial(p, 1)

    return median_rate(run, n, repeats)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", metavar="FILE", help="write one record per row to FILE")
    ap.add_argument("--compare-torch", action="store_true", help="also time PyTorch")
    ap.add_argument("--quick", action="store_true", help="fewer repeats")
    ap.add_argument("--sample-only", action="store_true", help="only the sampling rows")
    ap.add_argument("--cells", default=",".join(CELLS))
    ap.add_argument("--threads", type=int, default=2,
                    help="BLAS threads for rnn-tui (2, as PyTorch gets; 0 = what `rnn-tui "
                    "train` would choose now)")
    args = ap.parse_args(argv)
    from rnn_tui.runtime import configure_threads

    threads = configure_threads(args.threads or None)
    from rnn_tui.core.fast.blas import blas_name

    print(f"rnn-tui BLAS: {blas_name()}, threads: {threads}" + (
        "" if not args.compare_torch else ", torch threads: 2"), flush=True)
    torch = None
    if args.compare_torch:
        try:
            import torch

            torch.set_num_threads(2)
        except ImportError:
            print("torch is not importable; running without --compare-torch", file=sys.stderr)
    repeats = 3 if args.quick else 7
    square_before = square_gemm_gflops(torch)  # before any other work leaves threads spinning
    rows = []
    cells = args.cells.split(",")
    for (H, B, T, L) in ([] if args.sample_only else TRAIN_CONFIGS):
        for cell in cells:
            r = {"kind": "train", "cell": cell, "hidden": H, "batch": B, "seq": T, "layers": L,
                 "tok_s": ours_train(cell, H, B, T, L, repeats)}
            if torch is not None:
                r["torch_tok_s"] = torch_train(cell, H, B, T, L, repeats)
                r["ratio"] = r["tok_s"] / r["torch_tok_s"]
            rows.append(r)
            print_row(r)
    for (H, L) in SAMPLE_CONFIGS:
        for cell in cells:
            r = {"kind": "sample", "cell": cell, "hidden": H, "batch": 1, "seq": 1, "layers": L,
                 "tok_s": ours_sample(cell, H, L, repeats)}
            r["weight_bytes"] = sample_weight_bytes(cell, H, L)
            r["weight_gb_s"] = r["weight_bytes"] * r["tok_s"] / 1e9
            if torch is not None:
                r["torch_tok_s"] = torch_sample(cell, H, L, repeats)
                r["ratio"] = r["tok_s"] / r["torch_tok_s"]
            rows.append(r)
            print_row(r)
    if not args.sample_only and "rnn" in cells:  # Karpathy's min-char-rnn set-up
        r = {"kind": "train", "cell": "rnn", "hidden": 100, "batch": 1, "seq": 25, "layers": 1,
             "optimizer": "adagrad", "input": "onehot",
             "tok_s": ours_train("rnn", 100, 1, 25, 1, repeats, optimizer="adagrad", embed=0)}
        rows.append(r)
        print_row(r)
    lstm = next((r for r in rows if r["kind"] == "train" and r["cell"] == "lstm"
                 and (r["hidden"], r["batch"], r["seq"], r["layers"]) == (512, 32, 64, 1)), None)
    if lstm is not None:
        # the best square rate any BLAS here reached, before or after the rows
        rates = {f"{k}_{when}": v for when, d in (("before", square_before),
                                                  ("after", square_gemm_gflops(torch)))
                 for k, v in d.items()}
        best = max(rates, key=rates.get)
        square = rates[best]
        fwd = 2 * (E * 4 * 512 + 512 * 4 * 512 + 512 * V)  # forward FLOPs per token
        got = 3 * fwd * lstm["tok_s"] / 1e9
        lstm["gflops_3x_forward"] = got
        lstm["square_gemm_gflops"] = square
        lstm["square_gemm_rates"] = rates
        print(f"LSTM H512 B32 T64: {got:.0f} GFLOP/s (3x forward) = {got / square:.0%} of the "
              f"best square float32 product rate measured in this run ({square:.0f} GFLOP/s, "
              f"{best.replace('_', ' ')} the rows; all: "
              + ", ".join(f"{k} {v:.0f}" for k, v in rates.items()) + ")")
    train_ratios = [r["ratio"] for r in rows if r["kind"] == "train" and "ratio" in r]
    if train_ratios:
        gm = math.exp(sum(math.log(x) for x in train_ratios) / len(train_ratios))
        print(f"training: min ratio {min(train_ratios):.2f}x, geometric mean {gm:.2f}x")
    for r in rows:
        r["blas"] = blas_name()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


def sample_weight_bytes(cell, H, L) -> int:
    """float32 weights read per generated token: every layer's W_hh, the upper layers' W_ih,
    layer 0's input-table row, the head."""
    G = {"rnn": 1, "lstm": 4, "gru": 3}[cell]
    return 4 * (L * H * G * H + (L - 1) * H * G * H + G * H + H * V + V)


def square_gemm_gflops(torch=None, n=1024, reps=20) -> dict:
    """float32 n x n product rates (GFLOP/s, best of 5) of NumPy's BLAS with the threads now
    set and, when given, of PyTorch's (2 threads)."""
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    c = np.empty_like(a)
    fns = {"numpy": lambda: np.matmul(a, a, out=c)}
    if torch is not None:
        ta = torch.from_numpy(a)
        tc = torch.empty_like(ta)
        fns["torch"] = lambda: torch.matmul(ta, ta, out=tc)
    rates = {}
    for name, fn in fns.items():
        fn()
        best = math.inf
        for _ in range(5):
            t = time.perf_counter()
            for _ in range(reps):
                fn()
            best = min(best, (time.perf_counter() - t) / reps)
        rates[name] = 2 * n ** 3 / best / 1e9
    return rates


def print_row(r):
    extra = ""
    if "torch_tok_s" in r:
        extra = f"  torch {r['torch_tok_s']:>10,.0f}  ratio {r['ratio']:5.2f}x"
    if "weight_bytes" in r:
        extra += f"  weights {r['weight_bytes'] / 1e6:5.2f} MB/token = {r['weight_gb_s']:5.1f} GB/s"
    print(f"{r['kind']:<6} {r['cell']:<5} H{r['hidden']:<4} B{r['batch']:<3} T{r['seq']:<3} "
          f"L{r['layers']}  {r['tok_s']:>10,.0f} tok/s{extra}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
