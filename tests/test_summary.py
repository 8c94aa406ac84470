"""``rnn-tui summary``: the model's table (shapes named (batch, time, features), sequence or last
state, parameters per matrix) and its counts held to the checkpoint and to PyTorch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rnn_tui.cli import main


@pytest.fixture(autouse=True)
def config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("RNN_TUI_CONFIG_DIR", str(tmp_path / "config"))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A short text and a labelled file (sentences of the text, labelled by their length)."""
    from rnn_tui.data.corpora import load_corpus

    text = load_corpus("pydoc").text[:12000]
    d = tmp_path_factory.mktemp("data")
    (d / "text.txt").write_text(text, encoding="utf-8")
    words = text.split()
    lines = [" ".join(words[i : i + 3 + i % 5]) + "\t" + ("long" if i % 5 > 2 else "short")
             for i in range(0, 600, 8)]
    (d / "labelled.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return d


def summary_json(capsys, args: list[str]) -> dict:
    capsys.readouterr()
    assert main(["summary", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def summary_text(capsys, args: list[str]) -> str:
    capsys.readouterr()
    assert main(["summary", *args]) == 0
    return capsys.readouterr().out


def checkpoint_parameters(run: Path) -> int:
    """The sizes of the checkpoint's parameter arrays (not the optimizer's or the state's)."""
    from rnn_tui.train.runs import load_checkpoint

    arrays, _ = load_checkpoint(run / "checkpoint.npz")
    return sum(int(a.size) for k, a in arrays.items() if k == "params" or
               k.startswith("params."))


def torch_model(torch, md: dict):
    """nn.Embedding + nn.LSTM|GRU|RNN + nn.Linear shaped by an export's metadata."""
    nn = torch.nn
    V, E, H, L = (int(md[k]) for k in ("input_size", "embed", "hidden", "layers"))
    bi = md["bidirectional"] == "true"
    rnn_cls = {"lstm": nn.LSTM, "gru": nn.GRU}.get(md["cell"], nn.RNN)

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            if E:
                self.embedding = nn.Embedding(V, E)
            self.rnn = rnn_cls(E or V, H, L, bidirectional=bi)
            self.head = nn.Linear(H * (2 if bi else 1), int(md["output_size"]))

    return Model()


# (cell, layers, bidirectional, embed): every combination; bidirectional runs are sentence
# classifiers (a language model reads one way), the others character models
COUNT_CASES = [(cell, layers, bi, embed) for cell in ("rnn", "lstm", "gru") for layers in (1, 2)
               for bi in (False, True) for embed in (12, 0)]


@pytest.mark.parametrize("cell,layers,bi,embed", COUNT_CASES,
                         ids=[f"{c}-L{n}-{'bi' if b else 'uni'}-{'embed' if e else 'onehot'}"
                              for c, n, b, e in COUNT_CASES])
def test_total_equals_checkpoint_and_pytorch(data, tmp_path, capsys, cell, layers, bi, embed):
    torch = pytest.importorskip("torch")
    from safetensors import safe_open
    from safetensors.torch import load_file

    task = ["--task", "classify", "--corpus", str(data / "labelled.tsv"), "--bidirectional",
            "--dropout", "0"] if bi else ["--corpus", str(data / "text.txt")]
    assert main(["train", *task, "--cell", cell, "--layers", str(layers), "--embed", str(embed),
                 "--hidden", "10", "--batch", "4", "--seq", "16", "--steps", "2",
                 "--eval-every", "2", "--eval-tokens", "500", "--sample-every", "1000",
                 "--time-budget", "0", "--quiet", "--runs-dir", str(tmp_path), "--name",
                 "r"]) == 0
    run = tmp_path / "r"
    report = summary_json(capsys, [str(run)])
    total = report["total_params"]
    assert isinstance(total, int) and total == sum(r["params"] for r in report["layers"])
    assert total == checkpoint_parameters(run)
    out = tmp_path / "model.safetensors"
    assert main(["export", str(run), "--to", str(out)]) == 0
    with safe_open(str(out), framework="pt") as f:
        md = f.metadata()
    model = torch_model(torch, md)
    model.load_state_dict(load_file(str(out)), strict=True)
    assert total == sum(p.numel() for p in model.parameters())
    # each matrix as PyTorch holds it: the same shapes, named as the table names them
    rows = {r["group"]: r for r in report["layers"] if r["kind"] == "recurrent"}
    for k in range(layers):
        for group, suffix in ((f"l{k}", ""), (f"l{k}r", "_reverse")):
            if group not in rows:
                assert not bi or suffix == ""
                continue
            shapes = {w["name"]: tuple(w["shape"]) for w in rows[group]["weights"]}
            assert shapes["W_ih"] == tuple(getattr(model.rnn, f"weight_ih_l{k}{suffix}").shape)
            assert shapes["W_hh"] == tuple(getattr(model.rnn, f"weight_hh_l{k}{suffix}").shape)
    assert len(rows) == layers * (2 if bi else 1)
    kinds = [r["kind"] for r in report["layers"]]
    assert kinds[0] == ("embedding" if embed else "onehot") and kinds[-1] == "head"


# task -> (options, head returns the sequence, the input's features, notes mention)
TASK_CASES = {
    "char": ([], True, 8, "truncated backpropagation"),
    "word": (["--task", "word"], True, 8, "truncated backpropagation"),
    "char windows": (["--windows", "12"], False, 8, "window"),
    "series": (["--task", "series"], False, 2, "windows of the series"),
    "classify": (["--task", "classify"], False, 8, "longest sentence"),
    "tag": (["--task", "tag", "--word-features", "none"], True, 8, "longest sentence"),
    "seq2seq": (["--task", "seq2seq", "--corpus", "reverse"], True, 8, "source tokens"),
}
# the decoder and its head run over the target, whose length is not the source's
OWN_TIME = {"seq2seq"}


@pytest.mark.parametrize("name", list(TASK_CASES))
def test_shapes_name_batch_time_features_and_what_is_returned(capsys, name):
    options, sequence, features, note = TASK_CASES[name]
    args = [*options, "--hidden", "6", "--embed", "8", "--batch", "5", "--seq", "24"]
    report = summary_json(capsys, args)
    rows = report["layers"]
    B, T = report["batch"], report["time"]
    assert B == 5 and T > 1
    if name in ("char", "word"):
        assert T == 24
    if name == "char windows":
        assert T == 12
    first, head = rows[0], rows[-1]
    assert first["dims"] == ["batch", "time", "features"]
    assert first["output"] == [B, T, features]
    top = [r for r in rows if r["kind"] == "recurrent"][-1]
    for row in (top, head):
        assert row["return_sequences"] is sequence
        assert row["setup"] == ("many-to-many" if sequence else "many-to-one")
        assert row["dims"] == (["batch", "time", "features"] if sequence else
                               ["batch", "features"])
        assert row["output"][0] == B
        if name not in OWN_TIME:
            assert row["output"][:2] == ([B, T] if sequence else [B, 6 if row is top else
                                                                 row["output"][1]])
    assert report["setup"] == head["setup"]
    assert any(note in n for n in report["notes"])
    text = summary_text(capsys, args)
    assert f"(batch {B}, time {T}, features {features})" in text
    assert ("True  (sequence)" if sequence else "False (last)") in text.split("head", 1)[1]
    assert head["setup"] in text and "return_sequences" in text
    assert "Total parameters:" in text and "Activations of one training step" in text


def test_weights_are_named_and_sized_as_pytorch_shows_them(capsys):
    report = summary_json(capsys, ["--cell", "lstm", "--hidden", "7", "--embed", "5",
                                   "--layers", "2"])
    V = report["layers"][0]["weights"][0]["shape"][0]
    by_group = {r["group"]: {w["name"]: w for w in r["weights"]} for r in report["layers"]}
    cases = [("embed", "W_emb", [V, 5], ["V", "E"]),
             ("l0", "W_ih", [28, 5], ["4H", "E"]), ("l0", "W_hh", [28, 7], ["4H", "H"]),
             ("l0", "b_ih", [28], ["4H"]), ("l1", "W_ih", [28, 7], ["4H", "H"]),
             ("head", "W_hy", [V, 7], ["O", "H"]), ("head", "b_y", [V], ["O"])]
    for group, name, shape, symbols in cases:
        w = by_group[group][name]
        assert (w["shape"], w["symbols"], w["size"]) == (shape, symbols, int(np.prod(shape)))
    m = report["memory"]
    P = report["total_params"]
    assert m["weights_bytes"] == 4 * P and m["optimizer_bytes"] == 2 * 4 * P  # adam, float32
    assert m["activations_step_bytes"] > 0


@pytest.mark.parametrize("args,message", [
    (["nope-no-run"], "no run at"),
    (["--task", "nonsense"], "task"),
    (["--hidden", "0"], "hidden"),
    (["RUN", "--hidden", "8"], "--hidden describes a new model"),
    (["RUN", "--recipe", "vanishing"], "--recipe describes a new model"),
])
def test_bad_input_is_one_line(capsys, tmp_path, args, message):
    (tmp_path / "RUN").mkdir()
    args = [str(tmp_path / a) if a == "RUN" else a for a in args]
    capsys.readouterr()
    assert main(["summary", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err


def test_forecaster_total_counts_every_network(tmp_path, capsys):
    assert main(["train", "--task", "series", "--hidden", "5", "--steps", "2", "--eval-every",
                 "2", "--time-budget", "0", "--quiet", "--runs-dir", str(tmp_path), "--name",
                 "s"]) == 0
    report = summary_json(capsys, [str(tmp_path / "s")])
    assert report["members"] > 1
    assert report["total_params"] == report["members"] * report["params_per_network"] == \
        checkpoint_parameters(tmp_path / "s")
