"""Neuron search: the scores of the top units recomputed independently (hidden states from the
plain-NumPy reference, the quotation mask by pairing quote marks line by line, Pearson's r by
``np.corrcoef`` and the AUC by comparing every inside-outside pair), the built-in patterns, and
bad input refused in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from rnn_tui.explain.neurons import average_ranks, pattern_mask, score_units

TEXT = ('She said "come here" and he said "no". Then "why not?" she asked (twice).\n'
        'The sign read "closed" for 42 days; "open" said the other (in red).\n'
        'Nothing quoted on this line at all, only words and 7 digits 1234567.\n') * 30


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from rnn_tui.cli import main

    d = tmp_path_factory.mktemp("neurons")
    (d / "q.txt").write_text(TEXT, encoding="utf-8")
    assert main(["train", "--task", "char", "--corpus", str(d / "q.txt"), "--cell", "lstm",
                 "--layers", "2", "--hidden", "12", "--seq", "32", "--batch", "8", "--steps",
                 "60", "--eval-every", "30", "--runs-dir", str(d), "--name", "q",
                 "--quiet"]) == 0
    return d


def run_cli(args, cwd):
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    return subprocess.run([sys.executable, "-m", "rnn_tui.cli", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=300)


def quote_mask(text: str) -> np.ndarray:
    """Inside "…": quote marks paired in order on each line, the characters between them."""
    mask = np.zeros(len(text), dtype=bool)
    pos = 0
    for line in text.split("\n"):
        marks = [pos + i for i, ch in enumerate(line) if ch == '"']
        for a, b in zip(marks[0::2], marks[1::2], strict=False):
            mask[a + 1 : b] = True
        pos += len(line) + 1
    return mask


def reference_states(run_dir, text):
    """Every layer's h and c over ``text`` by the NumPy reference, from the checkpoint."""
    from rnn_tui.commands.common import open_explainable
    from rnn_tui.core.reference import stack_forward

    model = open_explainable(str(run_dir))[0]
    net = model.net
    ids = np.array([model.tokenizer.index[c] for c in text])
    x = net.params["embed.W"].astype(np.float64)[ids][:, None, :]
    L, H = net.spec.layers, net.spec.hidden
    weights = [{k: v.astype(np.float64) for k, v in net.layer_weights(layer).items()}
               for layer in range(L)]
    _, _, _, cache = stack_forward("lstm", x, np.zeros((L, 1, H)), np.zeros((L, 1, H)),
                                   weights)
    states = {}
    for layer, lc in enumerate(cache):
        states[f"l{layer}.h"] = np.stack([h[0] for h in lc["hs"][1:]])
        states[f"l{layer}.c"] = np.stack([s["c"][0] for s in lc["saved"]])
    return states


def brute_auc(a, mask):
    inside, outside = a[mask], a[~mask]
    diff = inside[:, None] - outside[None, :]
    return float(((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size)


def test_top_units_rescored_independently(run, tmp_path):
    text = TEXT[:2400]
    (tmp_path / "held.txt").write_text(text, encoding="utf-8")
    out = run_cli(["neurons", str(run / "q"), "--pattern", "quotes", "--file",
                   str(tmp_path / "held.txt"), "--json", "--top", "5"], tmp_path)
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    units = res["units"]
    assert len(units) == 5
    mask = quote_mask(text)
    assert res["covered"] == int(mask.sum()) and res["chars"] == len(text)
    states = reference_states(run / "q", text)
    everything = []
    for name, acts in states.items():
        for u in range(acts.shape[1]):
            r = np.corrcoef(acts[:, u], mask.astype(float))[0, 1]
            everything.append((abs(r), f"{name}[{u}]"))
    for u in units:
        a = states[f"l{u['layer']}.{u['kind']}"][:, u["index"]]
        r = np.corrcoef(a, mask.astype(float))[0, 1]
        assert abs(u["r"] - r) < 1e-4, u
        assert abs(u["auc"] - brute_auc(a, mask)) < 1e-3, u
        assert abs(u["mean_in"] - a[mask].mean()) < 1e-4
    # ranked by |r|, and no unit left out scores higher than the fifth
    rs = [abs(u["r"]) for u in units]
    assert rs == sorted(rs, reverse=True)
    best_others = max(s for s, name in everything if name not in {u["unit"] for u in units})
    assert best_others <= rs[-1] + 1e-4


PATTERN_CASES = {
    "quotes": ('a "bc" d "e"\n"f', [3, 4, 10]),
    "brackets": ("x (ab) (c)\n(d", [3, 4, 8]),
    "digits": ("a1 22b", [1, 3, 4]),
    "line-end": ("abcdefg\nhi\n", [2, 3, 4, 5, 6, 8, 9]),
    r"b+": ("abbc b", [1, 2, 5]),
    r"x(y+)z": ("xyyz xz", [1, 2]),
}


@pytest.mark.parametrize("pattern", sorted(PATTERN_CASES))
def test_patterns_mark_positions(pattern):
    text, want = PATTERN_CASES[pattern]
    mask, _ = pattern_mask(text, pattern)
    assert np.flatnonzero(mask).tolist() == want


def test_scores_against_definitions_with_ties():
    rng = np.random.default_rng(0)
    acts = np.round(rng.normal(0, 1, (200, 6)), 1)  # many ties
    mask = rng.random(200) < 0.3
    r, auc = score_units(acts, mask)
    for u in range(6):
        assert abs(r[u] - np.corrcoef(acts[:, u], mask)[0, 1]) < 1e-12
        assert abs(auc[u] - brute_auc(acts[:, u], mask)) < 1e-12
    ranks = average_ranks(np.array([[3.0], [1.0], [3.0], [2.0]]))
    assert ranks[:, 0].tolist() == [3.5, 1.0, 3.5, 2.0]


BAD = {
    "bad regex": (["--pattern", "(["], "regular expression"),
    "covers nothing": (["--pattern", "ZZZZ"], "covers no position"),
    "not a char run": (["--pattern", "quotes", "RUN=classify"], "character"),
    "missing file": (["--pattern", "quotes", "--file", "/nonexistent.txt"], "not found"),
    "bad top": (["--pattern", "quotes", "--top", "0"], "--top"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_line(run, tmp_path, case):
    args, match = BAD[case]
    target = str(run / "q")
    if "RUN=classify" in args:
        from rnn_tui.cli import main

        assert main(["train", "--task", "classify", "--corpus", "sentiment", "--hidden", "8",
                     "--steps", "5", "--runs-dir", str(tmp_path), "--name", "c",
                     "--quiet"]) == 0
        target, args = str(tmp_path / "c"), [a for a in args if a != "RUN=classify"]
    out = run_cli(["neurons", target, *args], tmp_path)
    assert out.returncode == 2, (out.stdout, out.stderr)
    lines = [ln for ln in out.stderr.splitlines() if ln.startswith("rnn-tui: error")]
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    assert match.lower() in lines[0].lower(), lines[0]
