"""Training throughput of the encoder-decoder with attention, beside PyTorch's of the same
equations and size (when torch is importable; it is never a dependency).

One training step = source embedding -> encoder LSTM -> decoder LSTM step by step with
Bahdanau's additive attention (or Luong's dot, or none) and the context fed to its input and
output head -> softmax cross-entropy over the target tokens -> backward -> Adam, float32, one
BLAS thread, on random tokens. Figures are target tokens per second, the median of repeated timed
runs after warm-up.

    python benchmarks/seq2seq.py [--quick] [--compare-torch] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import median_rate  # noqa: E402  (the same timing as the core's benchmark)

V_SRC, V_TGT, E = 40, 40, 64
CONFIGS = [  # (hidden, batch, source length, target length, attention)
    (128, 64, 10, 10, "additive"), (128, 64, 10, 10, "dot"), (128, 64, 10, 10, "none"),
    (256, 64, 20, 20, "additive"), (128, 128, 7, 5, "additive"),
]


def random_batch(rng, B, S, T):
    from rnn_tui.data.pairs import make_batch

    srcs = [rng.integers(4, V_SRC, size=S) for _ in range(B)]
    tgts = [rng.integers(4, V_TGT, size=T - 1) for _ in range(B)]
    return make_batch(srcs, tgts)


def ours(H, B, S, T, attention, repeats):
    from rnn_tui.core.optim import make_optimizer
    from rnn_tui.models.seq2seq import Seq2Seq, Seq2SeqSpec

    m = Seq2Seq(Seq2SeqSpec(V_SRC, V_TGT, cell="lstm", hidden=H, embed=E, attention=attention),
                np.float32, 0)
    opt = make_optimizer("adam", m.params.data.size, np.float32, 1e-3)
    b = random_batch(np.random.default_rng(0), B, S, T)

    def step():
        m.loss_and_grad(b)
        opt.step(m.params.data, m.params.grad)

    return median_rate(step, B * T, repeats)


def theirs(H, B, S, T, attention, repeats):
    import torch
    from torch import nn

    torch.set_num_threads(1)
    C = 0 if attention == "none" else H

    class EncDec(nn.Module):
        def __init__(self):
            super().__init__()
            self.src_emb = nn.Embedding(V_SRC, E)
            self.enc = nn.LSTM(E, H)
            self.tgt_emb = nn.Embedding(V_TGT, E)
            self.dec = nn.LSTMCell(E + C, H)
            if attention == "additive":
                self.W_k = nn.Linear(H, H, bias=False)
                self.W_q = nn.Linear(H, H)
                self.v = nn.Parameter(torch.randn(H) / H**0.5)
            self.out = nn.Linear(H + C, V_TGT)

        def forward(self, src, tgt_in):
            keys, (h, c) = self.enc(self.src_emb(src))  # (S, B, H)
            h, c = h[0], torch.zeros_like(c[0])
            kp = self.W_k(keys) if attention == "additive" else None
            rows = []
            for t in range(tgt_in.shape[0]):
                x = self.tgt_emb(tgt_in[t])
                if attention != "none":
                    if attention == "dot":
                        e = (keys * h.unsqueeze(0)).sum(-1)
                    else:
                        e = torch.tanh(kp + self.W_q(h).unsqueeze(0)) @ self.v
                    a = torch.softmax(e, dim=0)
                    ctx = (a.unsqueeze(-1) * keys).sum(0)
                    x = torch.cat([x, ctx], dim=1)
                h, c = self.dec(x, (h, c))
                rows.append(h if attention == "none" else torch.cat([h, ctx], dim=1))
            return self.out(torch.stack(rows))

    model = EncDec()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    b = random_batch(np.random.default_rng(0), B, S, T)
    src, tin = torch.from_numpy(b.src), torch.from_numpy(b.tgt_in)
    tout = torch.from_numpy(b.tgt_out).reshape(-1)
    loss_fn = nn.CrossEntropyLoss(ignore_index=-1)

    def step():
        opt.zero_grad()
        loss = loss_fn(model(src, tin).reshape(-1, V_TGT), tout)
        loss.backward()
        opt.step()

    return median_rate(step, B * T, repeats)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats")
    ap.add_argument("--compare-torch", action="store_true", help="time PyTorch beside it")
    ap.add_argument("--json", metavar="FILE", help="write the table as JSON too")
    args = ap.parse_args(argv)
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    repeats = 3 if args.quick else 7
    rows = []
    print(f"{'H':>4} {'B':>4} {'S':>3} {'T':>3} {'attention':>9} {'ours tok/s':>11} "
          f"{'torch tok/s':>11} {'ratio':>6}")
    for H, B, S, T, attention in CONFIGS:
        a = ours(H, B, S, T, attention, repeats)
        b = theirs(H, B, S, T, attention, repeats) if args.compare_torch else None
        r = a / b if b else None
        rows.append({"hidden": H, "batch": B, "source": S, "target": T, "attention": attention,
                     "ours_tok_s": a, "torch_tok_s": b, "ratio": r})
        print(f"{H:>4} {B:>4} {S:>3} {T:>3} {attention:>9} {a:>11,.0f} "
              f"{'' if b is None else f'{b:,.0f}':>11} {'' if r is None else f'{r:.2f}':>6}",
              flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"cpu": platform.processor() or platform.machine(),
                       "python": sys.version.split()[0], "rows": rows}, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
