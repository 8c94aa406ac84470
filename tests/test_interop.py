"""Interop (issue #19): weights out to PyTorch and in from it as PyTorch-named safetensors, and
the training log as TensorBoard event files and CSV.

The proofs load exported weights into PyTorch's own ``nn.Embedding`` / ``nn.LSTM|GRU|RNN`` /
``nn.Linear`` with ``load_state_dict(strict=True)`` and compare PyTorch's cross-entropy of a text
with ``rnn-tui evaluate --data`` (and the reverse for a model PyTorch built). Tests that need
torch skip only where it is not installed; rnn-tui itself never imports it.
"""

from __future__ import annotations

import asyncio
import csv
import json
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from rnn_tui.cli import main

RESULTS: dict[str, float] = {}  # measured |PyTorch - rnn-tui| losses, printed with -s


# ---------------------------------------------------------------------------- fixtures, helpers
@pytest.fixture(scope="module")
def texts(tmp_path_factory):
    """A training text and a different text to score, from the pydoc corpus (always there)."""
    from rnn_tui.data.corpora import load_corpus

    text = load_corpus("pydoc").text
    d = tmp_path_factory.mktemp("texts")
    (d / "train.txt").write_text(text[:20000], encoding="utf-8")
    (d / "score.txt").write_text(text[40000:43000], encoding="utf-8")
    return d


@pytest.fixture(autouse=True)
def config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("RNN_TUI_CONFIG_DIR", str(tmp_path / "config"))


def train(runs: Path, name: str, corpus: Path, cell="lstm", layers=1, embed=16, hidden=24,
          steps=60, extra=()) -> Path:
    """A short run whose weights have moved well away from their initial values."""
    rc = main(["train", "--corpus", str(corpus), "--cell", cell, "--layers", str(layers),
               "--embed", str(embed), "--hidden", str(hidden), "--steps", str(steps),
               "--lr", "0.01", "--warmup", "0", "--lr-schedule", "constant",
               "--batch", "8", "--seq", "32", "--eval-every", str(steps), "--eval-tokens", "2000",
               "--sample-every", "1000", "--time-budget", "0", "--quiet",
               "--runs-dir", str(runs), "--name", name, *extra])
    assert rc == 0
    return runs / name


def cli_loss(capsys, run: Path, data: Path) -> float:
    """``rnn-tui evaluate RUN --data FILE``: the number on its last line."""
    capsys.readouterr()
    assert main(["evaluate", str(run), "--data", str(data)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("val_loss=")
    return float(last.split()[0].split("=", 1)[1])


def run_cli(capsys, args) -> tuple[int, str]:
    capsys.readouterr()
    rc = main(args)
    return rc, capsys.readouterr().err


def torch_lm(torch, cell: str, V: int, E: int, H: int, L: int, bidirectional: bool = False):
    """The three modules of the README, as attributes of one nn.Module."""
    nn = torch.nn

    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(V, E) if E else None  # one-hot: no embedding
            size = E or V
            if cell == "lstm":
                self.rnn = nn.LSTM(size, H, L, bidirectional=bidirectional)
            elif cell == "gru":
                self.rnn = nn.GRU(size, H, L, bidirectional=bidirectional)
            else:
                self.rnn = nn.RNN(size, H, L, nonlinearity="relu" if cell == "rnn_relu" else
                                  "tanh", bidirectional=bidirectional)
            self.head = nn.Linear(H * (2 if bidirectional else 1), V)

        def forward(self, ids):  # (T,) token ids -> (T, V) logits, one stream from zero state
            if self.embedding is not None:
                x = self.embedding(ids)
            else:
                x = nn.functional.one_hot(ids, V).to(self.head.weight.dtype)
            y, _ = self.rnn(x.unsqueeze(1))
            return self.head(y[:, 0])

    return LM()


def load_into_torch(torch, path: Path):
    """A model from an exported file, by its metadata, loaded with strict=True."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    with safe_open(str(path), framework="pt") as f:
        md = f.metadata()
    vocab = json.loads(md["vocab"])
    model = torch_lm(torch, md["cell"], len(vocab), int(md["embed"]), int(md["hidden"]),
                     int(md["layers"]), md["bidirectional"] == "true")
    model.load_state_dict(load_file(str(path)), strict=True)
    return model.eval(), vocab, md


def encode(text: str, vocab: list[str]) -> np.ndarray:
    index = {c: i for i, c in enumerate(vocab)}
    return np.array([index[c] for c in text if c in index], dtype=np.int64)


def torch_loss(torch, model, ids: np.ndarray) -> float:
    """Mean cross-entropy of every next token, one stream from a zero state, batch 1."""
    t = torch.as_tensor(ids)
    with torch.no_grad():
        logits = model(t[:-1])
        return float(torch.nn.functional.cross_entropy(logits.double(), t[1:]))


def tensors_of(path: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(path))


# ---------------------------------------------------------------------------- 1. out to PyTorch
EXPORT_CASES = [("lstm", 1, 16), ("lstm", 2, 16), ("gru", 1, 16), ("gru", 2, 16),
                ("rnn", 1, 16), ("rnn", 2, 16), ("rnn_relu", 1, 0), ("lstm", 2, 0)]


@pytest.mark.parametrize("cell,layers,embed", EXPORT_CASES,
                         ids=[f"{c}-L{n}-{'onehot' if e == 0 else 'embed'}"
                              for c, n, e in EXPORT_CASES])
def test_exported_model_gives_pytorch_the_same_loss(texts, tmp_path, capsys, cell, layers,
                                                     embed):
    torch = pytest.importorskip("torch")
    run = train(tmp_path / "runs", "r", texts / "train.txt", cell, layers, embed)
    out = tmp_path / "model.safetensors"
    assert main(["export", str(run), "--to", str(out)]) == 0
    model, vocab, md = load_into_torch(torch, out)
    assert (md["cell"], md["layers"], md["embed"], md["task"]) == (cell, str(layers), str(embed),
                                                                    "char")
    assert ("embedding.weight" in tensors_of(out)) == (embed > 0)
    ids = encode((texts / "score.txt").read_text(encoding="utf-8"), vocab)
    theirs = torch_loss(torch, model, ids)
    ours = cli_loss(capsys, run, texts / "score.txt")
    RESULTS[f"out {cell} L{layers} embed {embed}"] = abs(theirs - ours)
    print(f"\nexport {cell} L{layers} embed {embed}: torch {theirs:.6f} rnn-tui {ours:.6f} "
          f"diff {abs(theirs - ours):.2e}")
    assert abs(theirs - ours) < 1e-3


def test_export_takes_best_or_latest(texts, tmp_path):
    from rnn_tui.train.runs import load_checkpoint

    run = train(tmp_path / "runs", "r", texts / "train.txt", "gru", 1, 8, hidden=8, steps=6,
                extra=["--eval-every", "3"])
    for which, file in (("best", "best.npz"), ("latest", "checkpoint.npz")):
        out = tmp_path / f"{which}.safetensors"
        assert main(["export", str(run), "--to", str(out), "--checkpoint", which]) == 0
        arrays, _ = load_checkpoint(run / file)
        flat = np.concatenate([t.T.ravel() if t.ndim == 2 and name != "embedding.weight"
                               else t.ravel() for name, t in _layout_order(out)])
        np.testing.assert_array_equal(flat, arrays["params"])


def _layout_order(path):
    t = tensors_of(path)
    names = ["embedding.weight", "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0",
             "rnn.bias_hh_l0", "head.weight", "head.bias"]
    return [(n, t[n]) for n in names]


def readme_snippets() -> list[str]:
    """The Python code blocks of the README's Interop section."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Interop", 1)[1].split("\n## ", 1)[0]
    return [block.split("```", 1)[0] for block in section.split("```python\n")[1:]]


def test_readme_snippets_load_an_export_and_save_one_back(texts, tmp_path, capsys, monkeypatch):
    torch = pytest.importorskip("torch")
    run = train(tmp_path / "runs", "r", texts / "train.txt", "lstm", 2, 16)
    monkeypatch.chdir(tmp_path)
    assert main(["export", str(run), "--to", "model.safetensors"]) == 0
    load, save = readme_snippets()
    ns: dict = {}
    exec(compile(load, "README.md", "exec"), ns)  # strict=True inside
    model = ns["model"].eval()
    ids = torch.as_tensor(encode((texts / "score.txt").read_text(encoding="utf-8"),
                                 ns["vocab"]))
    with torch.no_grad():
        logits, _ = model(ids[:-1].unsqueeze(1))
        theirs = float(torch.nn.functional.cross_entropy(logits[:, 0].double(), ids[1:]))
    ours = cli_loss(capsys, run, texts / "score.txt")
    assert abs(theirs - ours) < 1e-3
    exec(compile(save, "README.md", "exec"), ns)  # overwrites model.safetensors from PyTorch
    assert main(["import", "model.safetensors", "--task", "char", "--text",
                 str(texts / "train.txt"), "--runs-dir", "runs", "--name", "back"]) == 0
    assert abs(cli_loss(capsys, tmp_path / "runs" / "back", texts / "score.txt") - ours) < 1e-6


# ---------------------------------------------------------------------------- 2. in from PyTorch
IMPORT_CASES = [("lstm", 1, 16, {"cell": "lstm"}), ("gru", 2, 0, {}),
                ("rnn_relu", 2, 12, {"cell": "rnn", "nonlinearity": "relu"})]


def torch_file(torch, tmp_path, texts, cell, layers, embed, extra_meta, seed=0):
    """A char model built and saved by PyTorch (random weights), as a PyTorch user would."""
    from safetensors.torch import save_file

    vocab = sorted(set((texts / "train.txt").read_text(encoding="utf-8")))
    torch.manual_seed(seed)
    model = torch_lm(torch, cell, len(vocab), embed, 20, layers).eval()
    path = tmp_path / f"torch-{cell}.safetensors"
    save_file(model.state_dict(), str(path),
              metadata={"vocab": json.dumps(vocab), **extra_meta})
    return model, vocab, path


@pytest.mark.parametrize("cell,layers,embed,meta", IMPORT_CASES,
                         ids=[f"{c}-L{n}-{'onehot' if e == 0 else 'embed'}"
                              for c, n, e, _ in IMPORT_CASES])
def test_pytorch_model_imported_gives_the_same_loss(texts, tmp_path, capsys, cell, layers, embed,
                                                    meta):
    torch = pytest.importorskip("torch")
    model, vocab, path = torch_file(torch, tmp_path, texts, cell, layers, embed, meta)
    rc, err = run_cli(capsys, ["import", str(path), "--task", "char", "--text",
                               str(texts / "train.txt"), "--runs-dir", str(tmp_path / "runs"),
                               "--name", "imp"])
    assert rc == 0, err
    run = tmp_path / "runs" / "imp"
    ids = encode((texts / "score.txt").read_text(encoding="utf-8"), vocab)
    theirs = torch_loss(torch, model, ids)
    ours = cli_loss(capsys, run, texts / "score.txt")
    RESULTS[f"in {cell} L{layers} embed {embed}"] = abs(theirs - ours)
    print(f"\nimport {cell} L{layers} embed {embed}: torch {theirs:.6f} rnn-tui {ours:.6f} "
          f"diff {abs(theirs - ours):.2e}")
    assert abs(theirs - ours) < 1e-3
    # 3. (b) and out again: the very tensors PyTorch saved
    again = tmp_path / "again.safetensors"
    assert main(["export", str(run), "--to", str(again)]) == 0
    state = {k: v.numpy() for k, v in model.state_dict().items()}
    got = tensors_of(again)
    assert sorted(got) == sorted(state)
    for k in state:
        assert got[k].dtype == state[k].dtype and np.array_equal(got[k], state[k]), k


def test_imported_run_samples_resumes_and_is_watched(texts, tmp_path, capsys):
    """The imported run works like any run: sample, train --resume; ``watch`` draws the
    PyTorch model's hidden state over the chosen text (headless Pilot)."""
    torch = pytest.importorskip("torch")
    model, vocab, path = torch_file(torch, tmp_path, texts, "lstm", 1, 16, {"cell": "lstm"})
    runs = tmp_path / "runs"
    assert main(["import", str(path), "--text", str(texts / "train.txt"), "--task", "char",
                 "--runs-dir", str(runs), "--name", "imp", "--batch", "8", "--seq", "32"]) == 0
    run = runs / "imp"
    assert {"config.toml", "vocab.json", "checkpoint.npz", "best.npz", "metrics.jsonl"} <= {
        p.name for p in run.iterdir()}
    events = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [e["type"] for e in events][:2] == ["run_started", "notice"]
    snap = next(e for e in events if e["type"] == "hidden")

    # the snapshot is the PyTorch model's own hidden state over the start of the text
    text = (texts / "train.txt").read_text(encoding="utf-8")
    ids = encode(text, vocab)[:len(snap["tokens"])]
    assert "".join(snap["tokens"]) == "".join(vocab[i] for i in ids)
    with torch.no_grad():
        y, _ = model.rnn(model.embedding(torch.as_tensor(ids)).unsqueeze(1))
    np.testing.assert_allclose(np.array(snap["h"][0]), y[:, 0].numpy().T, atol=1.5e-3)

    capsys.readouterr()
    assert main(["sample", str(run), "-n", "40", "--seed", "1"]) == 0
    assert len(capsys.readouterr().out) >= 40

    from rnn_tui.tui.app import RnnTuiApp
    from rnn_tui.tui.source import FileSource
    from rnn_tui.tui.widgets.heatmap import Heatmap, token_glyph

    async def go():
        app = RnnTuiApp(FileSource(run), theme="rnn-dark", remember_theme=False)
        async with app.run_test(size=(120, 40)) as pilot:
            dash = app.screen
            for _ in range(100):
                hm = dash.query_one(Heatmap)
                if hm.matrix:
                    break
                await pilot.pause(0.05)
            await pilot.pause(0.2)
            hm = dash.query_one(Heatmap)
            edge = hm.render_line(0).text
            row = hm.render_line(1).text
            status = str(dash.query_one("#status").render())
            return hm.matrix, hm.tokens, edge, row, status

    matrix, tokens, edge, row, status = asyncio.run(go())
    assert matrix == snap["h"][0] and len(matrix) == 20  # every unit of layer 0
    assert tokens == snap["tokens"]
    assert "waiting" not in edge and "".join(map(token_glyph, tokens[-8:])) in edge.replace(" ", "")
    assert row.strip()
    assert "watching" in status and "imported" in status

    # --resume trains on from step 0 with fresh optimizer state
    assert main(["train", "--resume", str(run), "--steps", "3", "--time-budget", "0",
                 "--quiet"]) == 0
    from rnn_tui.train.runs import load_checkpoint

    assert load_checkpoint(run / "checkpoint.npz")[1]["step"] == 3


# ---------------------------------------------------------------------------- 3. round trips
def test_export_import_export_gives_identical_tensors(texts, tmp_path, capsys):
    run = train(tmp_path / "runs", "r", texts / "train.txt", "lstm", 2, 16)
    a, b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    assert main(["export", str(run), "--to", str(a)]) == 0
    assert main(["import", str(a), "--text", str(texts / "train.txt"), "--runs-dir",
                 str(tmp_path / "runs"), "--name", "back"]) == 0  # task from the metadata
    assert main(["export", str(tmp_path / "runs" / "back"), "--to", str(b)]) == 0
    ta, tb = tensors_of(a), tensors_of(b)
    assert list(ta) == list(tb)
    for k in ta:
        assert ta[k].dtype == tb[k].dtype == np.float32
        assert np.array_equal(ta[k], tb[k]), k
    # and the imported run scores text exactly as the original
    assert cli_loss(capsys, run, texts / "score.txt") == cli_loss(
        capsys, tmp_path / "runs" / "back", texts / "score.txt")


def test_word_model_round_trip_keeps_its_tokenizer(texts, tmp_path, capsys):
    from safetensors import safe_open

    run = train(tmp_path / "runs", "w", texts / "train.txt", "gru", 1, 8, hidden=16, steps=10,
                extra=["--task", "word", "--min-count", "1"])
    out = tmp_path / "w.safetensors"
    assert main(["export", str(run), "--to", str(out)]) == 0
    with safe_open(str(out), framework="numpy") as f:
        md = f.metadata()
    assert md["task"] == "word" and md["tokenizer"] == "word" and md["lowercase"] == "true"
    assert json.loads(md["vocab"])[0] == "<unk>"
    assert main(["import", str(out), "--text", str(texts / "train.txt"), "--runs-dir",
                 str(tmp_path / "runs"), "--name", "w2"]) == 0
    a = cli_loss(capsys, run, texts / "score.txt")
    b = cli_loss(capsys, tmp_path / "runs" / "w2", texts / "score.txt")
    assert a == b


def test_bidirectional_layout_maps_to_pytorch_names_and_back():
    """The mapping for bidirectional layers (``l{k}r.*`` <-> ``rnn.*_l{k}_reverse``, a head
    reading 2H features) on a hand-built layout, against PyTorch's own state_dict."""
    from types import SimpleNamespace

    from rnn_tui.core.params import Layout
    from rnn_tui.interop.names import from_torch, name_map, to_torch

    torch = pytest.importorskip("torch")
    V, E, H, L, G = 11, 5, 6, 2, 4
    spec = SimpleNamespace(cell="lstm", input_mode="embedding", input_size=V, embed_dim=E,
                           hidden=H, layers=L, output_size=V, bidirectional=True)
    entries = [("embed.W", (V, E))]
    for k in range(L):
        fan_in = E if k == 0 else 2 * H
        for d in ("", "r"):
            entries += [(f"l{k}{d}.W_ih", (fan_in, G * H)), (f"l{k}{d}.W_hh", (H, G * H)),
                        (f"l{k}{d}.b_ih", (G * H,)), (f"l{k}{d}.b_hh", (G * H,))]
    entries += [("head.W", (2 * H, V)), ("head.b", (V,))]
    layout = Layout(entries)
    rng = np.random.default_rng(0)
    flat = rng.standard_normal(layout.size).astype(np.float32)
    weights = layout.views(flat)
    out = to_torch(weights, spec)
    assert "rnn.weight_ih_l1_reverse" in out and len(name_map(spec)) == len(entries)
    model = torch_lm(torch, "lstm", V, E, H, L, bidirectional=True)
    theirs = model.state_dict()
    assert sorted(out) == sorted(theirs)
    for k, v in out.items():
        assert tuple(v.shape) == tuple(theirs[k].shape), k
    model.load_state_dict({k: torch.from_numpy(v) for k, v in out.items()}, strict=True)
    back = from_torch({k: v.numpy() for k, v in model.state_dict().items()}, spec, layout)
    for name, v in weights.items():
        assert np.array_equal(back[name], v), name


def test_bidirectional_file_is_refused_or_read_by_the_core(tmp_path, capsys):
    """Until the core has bidirectional layers, importing one says so in one line."""
    import dataclasses

    from safetensors.numpy import save_file

    from rnn_tui.core.network import NetSpec

    V, E, H = 7, 3, 4
    r = np.random.default_rng(1)
    t = {"embedding.weight": r.standard_normal((V, E)),
         "head.weight": r.standard_normal((V, 2 * H)), "head.bias": np.zeros(V)}
    for sfx in ("", "_reverse"):
        t |= {f"rnn.weight_ih_l0{sfx}": r.standard_normal((3 * H, E)),
              f"rnn.weight_hh_l0{sfx}": r.standard_normal((3 * H, H)),
              f"rnn.bias_ih_l0{sfx}": np.zeros(3 * H), f"rnn.bias_hh_l0{sfx}": np.zeros(3 * H)}
    path = tmp_path / "bi.safetensors"
    save_file({k: v.astype(np.float32) for k, v in t.items()}, str(path),
              metadata={"vocab": json.dumps(list("abcdefg"))})
    from rnn_tui.interop.weights import load_weights

    if "bidirectional" in {f.name for f in dataclasses.fields(NetSpec)}:
        w = load_weights(path, "char")
        assert w.net.spec.bidirectional
    else:
        rc, err = run_cli(capsys, ["import", str(path), "--task", "char", "--corpus", "pydoc",
                                   "--runs-dir", str(tmp_path / "runs")])
        assert rc == 2 and "bidirectional" in err and err.count("\n") == 1
        assert not (tmp_path / "runs").exists()


# ---------------------------------------------------------------------------- errors
def numpy_lstm(V=5, E=3, H=4, L=1):
    r = np.random.default_rng(0)
    t = {"embedding.weight": r.standard_normal((V, E)), "head.weight": r.standard_normal((V, H)),
         "head.bias": np.zeros(V)}
    for k in range(L):
        t |= {f"rnn.weight_ih_l{k}": r.standard_normal((4 * H, E if k == 0 else H)),
              f"rnn.weight_hh_l{k}": r.standard_normal((4 * H, H)),
              f"rnn.bias_ih_l{k}": np.zeros(4 * H), f"rnn.bias_hh_l{k}": np.zeros(4 * H)}
    return {k: v.astype(np.float32) for k, v in t.items()}


VOCAB5 = json.dumps(list("abcde"))


def _bad(t, **changes):
    t = dict(t)
    for k, v in changes.items():
        if v is None:
            t.pop(k.replace("__", "."), None)
        else:
            t[k.replace("__", ".")] = v
    return t


BAD_FILES = {
    "head does not fit the vocabulary": (
        lambda: _bad(numpy_lstm(), head__weight=np.zeros((6, 4), np.float32),
                     head__bias=np.zeros(6, np.float32)), {"vocab": VOCAB5},
        "shapes do not fit"),
    "a weight of the wrong shape": (
        lambda: _bad(numpy_lstm(), rnn__weight_ih_l0=np.zeros((16, 9), np.float32)),
        {"vocab": VOCAB5}, "shapes do not fit: rnn.weight_ih_l0 is (16x9)"),
    "vocabulary of another size": (
        numpy_lstm, {"vocab": json.dumps(list("abcdef"))}, "shapes do not fit"),
    "metadata disagrees with the tensors": (
        numpy_lstm, {"vocab": VOCAB5, "hidden": "8"}, "metadata says hidden 8"),
    "missing vocabulary": (numpy_lstm, {"cell": "lstm"}, "no vocabulary"),
    "vocabulary not a list": (numpy_lstm, {"vocab": "abcde"}, "JSON list"),
    "unknown cell": (numpy_lstm, {"vocab": VOCAB5, "cell": "transformer"}, "unknown cell"),
    "cell that does not fit": (numpy_lstm, {"vocab": VOCAB5, "cell": "gru"},
                               "shapes do not fit: a gru layer"),
    "a tensor missing": (lambda: _bad(numpy_lstm(), rnn__bias_hh_l0=None), {"vocab": VOCAB5},
                         "no tensor rnn.bias_hh_l0"),
    "tensors left over": (lambda: _bad(numpy_lstm(), extra__weight=np.zeros(3, np.float32)),
                          {"vocab": VOCAB5}, "no place for: extra.weight"),
    "no recurrent layer": (lambda: {"w": np.zeros(3, np.float32)}, {"vocab": VOCAB5},
                           "no recurrent layer"),
    "plain RNN without its nonlinearity": (
        lambda: {k: (v[: v.shape[0] // 4] if k.startswith("rnn.") else v)
                 for k, v in numpy_lstm().items()}, {"vocab": VOCAB5}, "rnn_relu"),
    "word vocabulary without <unk>": (numpy_lstm, {"vocab": VOCAB5, "task": "word"}, "<unk>"),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_import_of_a_file_that_does_not_fit_is_one_line(tmp_path, capsys, name):
    from safetensors.numpy import save_file

    make, meta, expect = BAD_FILES[name]
    path = tmp_path / "bad.safetensors"
    save_file(make(), str(path), metadata=meta)
    args = ["import", str(path), "--corpus", "pydoc", "--runs-dir", str(tmp_path / "runs")]
    if meta.get("task") != "word":
        args += ["--task", "char"]
    rc, err = run_cli(capsys, args)
    assert rc == 2
    assert err.startswith("rnn-tui: error:") and err.count("\n") == 1, err
    assert expect in err, err
    assert not (tmp_path / "runs").exists()  # nothing made


def test_other_import_and_export_mistakes_are_one_line(tmp_path, capsys, texts):
    from safetensors.numpy import save_file

    good = tmp_path / "good.safetensors"
    save_file(numpy_lstm(), str(good), metadata={"vocab": VOCAB5})
    (tmp_path / "junk.safetensors").write_bytes(b"not a safetensors file at all")
    run = train(tmp_path / "runs", "r", texts / "train.txt", "gru", 1, 8, hidden=8, steps=3)
    cases = [
        (["import", str(good), "--task", "char"], "--text FILE or --corpus"),
        (["import", str(good), "--corpus", "pydoc"], "--task char or --task word"),
        (["import", str(tmp_path / "junk.safetensors"), "--task", "char", "--corpus", "pydoc"],
         "not a readable .safetensors file"),
        (["import", str(tmp_path / "nope.safetensors"), "--task", "char", "--corpus", "pydoc"],
         "not found"),
        (["export", str(run), "--to", str(tmp_path / "x.bin")], "--format tensorboard|csv"),
        (["export", str(run), "--to", str(tmp_path / "no" / "dir" / "x.safetensors")],
         "does not exist"),
        (["export", str(tmp_path / "norun"), "--to", str(tmp_path / "x.safetensors")],
         "no run at"),
        (["export", str(run), "--to", str(tmp_path / "runs"), "--format", "safetensors"],
         "is a directory"),
    ]
    for args, expect in cases:
        rc, err = run_cli(capsys, args)
        assert rc == 2 and err.count("\n") == 1 and expect in err, (args, err)


def test_missing_tensorboardx_names_the_extra(tmp_path, capsys, texts, monkeypatch):
    run = train(tmp_path / "runs", "r", texts / "train.txt", "gru", 1, 8, hidden=8, steps=3)
    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # as if not installed
    for args in (["train", "--corpus", str(texts / "train.txt"), "--steps", "1", "--runs-dir",
                  str(tmp_path / "runs"), "--name", "tb", "--log", "tensorboard"],
                 ["export", str(run), "--to", str(tmp_path / "tb"), "--format", "tensorboard"]):
        rc, err = run_cli(capsys, args)
        assert rc == 2 and err.count("\n") == 1
        assert "pip install 'rnn-tui[tensorboard]'" in err
    assert not (tmp_path / "runs" / "tb").exists() and not (tmp_path / "tb").exists()


def test_log_option_on_train_and_the_app_is_not_log_every():
    from rnn_tui.cli import build_parser

    p = build_parser()
    assert p.parse_args(["--log", "csv"]).log == ["csv"]
    a = p.parse_args(["train", "--log", "tensorboard", "--log", "csv", "--log-every", "7"])
    assert a.log == ["tensorboard", "csv"] and a.log_every == "7"


# ---------------------------------------------------------------------------- 4. logs
def expected_scalars(metrics: Path) -> dict[str, list[tuple[int, float, float]]]:
    """tag -> [(step, value, elapsed_s)] from metrics.jsonl, read independently of
    rnn_tui.interop.logs."""
    out: dict[str, list[tuple[int, float, float]]] = {}
    for line in metrics.read_text().splitlines():
        d = json.loads(line)
        if d["type"] == "step":
            pairs = {f"train/{k}": d[k] for k in ("loss", "tokens_per_s", "lr", "grad_norm")}
            pairs |= {f"grad_norm/{g}": v for g, v in d["grad_norms"].items()}
        elif d["type"] == "eval":
            pairs = {"eval/val_loss": d["val_loss"]}
            pairs |= {f"eval/{k}": v for k, v in d["metrics"].items()}
        else:
            continue
        for tag, v in pairs.items():
            out.setdefault(tag, []).append((d["step"], v, d["elapsed_s"]))
    return out


def read_csv(path: Path) -> dict[str, list[tuple[int, float, float]]]:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[:2] == ["step", "elapsed_s"]
    got: dict[str, list[tuple[int, float, float]]] = {}
    for r in rows:
        for k, v in r.items():
            if k not in ("step", "elapsed_s") and v != "":
                got.setdefault(k, []).append((int(r["step"]), float(v), float(r["elapsed_s"])))
    return got


def read_tensorboard(logdir: Path) -> dict[str, list[tuple[int, float, float, int]]]:
    """tag -> [(step, value, wall time, file number)] of every event file in ``logdir``, parsed
    with tensorboardX's protobufs from the TFRecord framing (length, CRC, event, CRC)."""
    event_pb2 = pytest.importorskip("tensorboardX.proto.event_pb2")
    got: dict[str, list[tuple[int, float, float, int]]] = {}
    files = sorted(logdir.glob("events.out.tfevents.*"))
    assert files
    for n_file, f in enumerate(files):
        data, i = f.read_bytes(), 0
        while i < len(data):
            (n,) = struct.unpack("<Q", data[i:i + 8])
            e = event_pb2.Event()
            e.ParseFromString(data[i + 12:i + 12 + n])
            i += 12 + n + 4
            for v in e.summary.value:
                if v.HasField("simple_value"):
                    got.setdefault(v.tag, []).append((e.step, v.simple_value, e.wall_time,
                                                      n_file))
    return got


@pytest.fixture(scope="module")
def logged_run(tmp_path_factory, texts):
    pytest.importorskip("tensorboardX")
    runs = tmp_path_factory.mktemp("logruns")
    run = train(runs, "logged", texts / "train.txt", "gru", 2, 8, hidden=12, steps=30,
                extra=["--eval-every", "10", "--log-every", "3", "--log", "tensorboard",
                       "--log", "csv"])
    # resumed with the logs on: the same files grow (CSV appended, a second event file)
    assert main(["train", "--resume", str(run), "--steps", "36", "--log-every", "3",
                 "--time-budget", "0", "--quiet", "--log", "csv", "--log", "tensorboard"]) == 0
    return run


def check_against_metrics(metrics: Path, csv_path: Path | None, tb_dir: Path | None):
    want = expected_scalars(metrics)
    assert {"train/loss", "train/lr", "train/grad_norm", "grad_norm/l1", "eval/val_loss",
            "eval/val_ppl"} <= set(want)
    assert len(want["eval/val_loss"]) == 4 and len(want["train/loss"]) == 12
    if csv_path is not None:
        assert read_csv(csv_path) == want  # exact: full-precision floats, elapsed_s too
    if tb_dir is not None:
        got = read_tensorboard(tb_dir)
        assert set(got) == set(want)
        for tag, pairs in want.items():
            tb = got[tag]
            assert [s for s, *_ in tb] == [s for s, *_ in pairs], tag
            np.testing.assert_allclose([v for _, v, *_ in tb], [v for _, v, _ in pairs],
                                       rtol=1e-6, err_msg=tag)  # stored as float32
            # wall time = the start of the file's run + elapsed_s
            for n_file in {f for *_, f in tb}:
                offsets = [w - el for (_, _, w, f), (_, _, el) in zip(tb, pairs, strict=True)
                           if f == n_file]
                assert np.ptp(offsets) < 1e-3, tag


def test_live_logs_read_back_as_metrics_jsonl(logged_run):
    check_against_metrics(logged_run / "metrics.jsonl", logged_run / "metrics.csv",
                          logged_run / "tensorboard")
    assert len(list((logged_run / "tensorboard").glob("events.out.tfevents.*"))) == 2


def test_exported_logs_read_back_as_metrics_jsonl(logged_run, tmp_path, capsys):
    assert main(["export", str(logged_run), "--to", str(tmp_path / "csv"), "--format",
                 "csv"]) == 0
    assert main(["export", str(logged_run), "--to", str(tmp_path / "tb"), "--format",
                 "tensorboard"]) == 0
    check_against_metrics(logged_run / "metrics.jsonl", tmp_path / "csv" / "metrics.csv",
                          tmp_path / "tb")
    # the live CSV and the exported one are the same file
    assert (tmp_path / "csv" / "metrics.csv").read_text() == \
        (logged_run / "metrics.csv").read_text()
    rc, err = run_cli(capsys, ["export", str(logged_run), "--to", str(tmp_path / "tb"),
                               "--format", "tensorboard"])
    assert rc == 2 and "already holds TensorBoard event files" in err


def test_tensorboard_logs_read_back_with_tbparse(logged_run):
    tbparse = pytest.importorskip("tbparse")
    df = tbparse.SummaryReader(str(logged_run / "tensorboard")).scalars
    want = expected_scalars(logged_run / "metrics.jsonl")
    assert set(df["tag"]) == set(want)
    for tag, pairs in want.items():
        rows = df[df["tag"] == tag].sort_values("step", kind="stable")
        assert list(rows["step"]) == sorted(s for s, *_ in pairs)
        np.testing.assert_allclose(
            rows["value"].to_numpy(), [v for _, v, _ in sorted(pairs, key=lambda p: p[0])],
            rtol=1e-6)


# ---------------------------------------------------------------------------- 5. no torch inside
def test_export_import_and_logs_never_load_torch_or_tensorflow(texts, tmp_path):
    pytest.importorskip("tensorboardX")
    code = textwrap.dedent(f"""
        import sys
        from rnn_tui.cli import main
        d = {str(tmp_path)!r}
        assert main(["train", "--corpus", {str(texts / "train.txt")!r}, "--hidden", "8",
                     "--embed", "4", "--steps", "3", "--time-budget", "0", "--quiet",
                     "--runs-dir", d, "--name", "r", "--log", "tensorboard", "--log",
                     "csv"]) == 0
        assert main(["export", d + "/r", "--to", d + "/m.safetensors"]) == 0
        assert main(["export", d + "/r", "--to", d + "/tb", "--format", "tensorboard"]) == 0
        assert main(["import", d + "/m.safetensors", "--text", {str(texts / "train.txt")!r},
                     "--runs-dir", d, "--name", "i"]) == 0
        bad = sorted(m for m in sys.modules
                     if m.split(".")[0] in ("torch", "tensorflow", "jax"))
        assert not bad, bad
        print("clean")
    """)
    import os

    import rnn_tui

    src = str(Path(rnn_tui.__file__).resolve().parents[1])  # this rnn_tui, not another install
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("clean")


def test_report_measured_agreement():
    """Prints the measured |PyTorch - rnn-tui| cross-entropies (run with -s)."""
    if RESULTS:
        print("\nmax |torch - rnn-tui| loss:", f"{max(RESULTS.values()):.2e}")
        for k, v in RESULTS.items():
            print(f"  {k}: {v:.2e}")
