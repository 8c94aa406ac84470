"""The seq2seq task through the real command line (train, evaluate, translate, sample) and in
process (checkpoint and restore, a resume that continues bit for bit); bad sources and files
give one line and exit 2, or a defined handling."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

from rnn_tui.config import RunConfig
from rnn_tui.tasks.seq2seq import Seq2SeqTask

TINY = ["--hidden", "24", "--embed", "8", "--batch", "32", "--eval-every", "40",
        "--eval-tokens", "200", "--quiet"]


def cli(*args, cwd=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "rnn_tui.cli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def one_line_error(r, match):
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and re.search(match, lines[0]), r.stderr


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("s2s")
    r = cli("train", "--task", "seq2seq", "--corpus", "reverse:n=3000,min=3,max=6",
            "--steps", "160", "--time-budget", "0", *TINY, "--runs-dir", d, "--name", "rev",
            cwd=d)
    assert r.returncode == 0, r.stderr
    return d / "rev"


def test_evaluate_ends_with_the_scores_line(trained):
    r = cli("evaluate", trained)
    assert r.returncode == 0, r.stderr
    last = r.stdout.strip().splitlines()[-1]
    m = re.fullmatch(r"exact_match=(\S+) token_accuracy=(\S+) bleu=(\S+) chrf=(\S+)", last)
    assert m, last
    em, acc, bleu, chrf = map(float, m.groups())
    assert 0 <= em <= 1 and 0 < acc <= 1 and 0 <= bleu <= 100 and 0 < chrf <= 100
    # a file of pairs is scored the same way
    f = trained.parent / "pairs.tsv"
    f.write_text("abc\tcba\nxyz\tzyx\n")
    r = cli("evaluate", trained, "--data", f)
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(r"exact_match=\S+ token_accuracy=\S+ bleu=\S+ chrf=\S+",
                        r.stdout.strip().splitlines()[-1])


def test_evaluate_decodes_every_held_out_source_greedy_or_by_beam(trained):
    lines = {}
    for beam in (1, 3):
        r = cli("evaluate", trained, "--beam", beam)
        assert r.returncode == 0, r.stderr
        out = r.stdout.strip().splitlines()
        assert re.search(r"sources=\d+", out[-2]) and out[-1].startswith("exact_match=")
        lines[beam] = out[-1]
    one_line_error(cli("evaluate", trained, "--beam", "0"), "--beam must be from 1")


def test_translate_greedy_beam_and_attention(trained):
    r = cli("translate", trained, "--text", "abcd", "--beam", "3", "--show-attention")
    assert r.returncode == 0, r.stderr
    ranked = [ln for ln in r.stdout.splitlines() if re.match(r"\d\. ", ln)]
    assert [ln[:2] for ln in ranked] == ["1.", "2.", "3."]
    scores = [float(re.search(r"score (\S+)", ln).group(1)) for ln in ranked]
    assert scores == sorted(scores, reverse=True)
    assert "a      b      c      d" not in r.stdout  # one-letter columns, not padded to 6
    assert re.search(r"^\s+a b c d$", r.stdout, re.M)  # the source tokens across the top
    g = cli("sample", trained, "--prime", "abcd")
    assert g.returncode == 0 and g.stdout.startswith("abcd → ")


@pytest.mark.parametrize("args,match", [
    (["--text", ""], "source is empty"),
    (["--beam", "0", "--text", "ab"], "--beam must be from 1"),
    ([], "give a source"),
])
def test_translate_refuses_bad_requests(trained, args, match):
    one_line_error(cli("translate", trained, *args), match)


def test_unseen_characters_are_read_as_unk_with_a_note(trained):
    r = cli("translate", trained, "--text", "ab9!")
    assert r.returncode == 0, r.stderr
    assert "2 tokens of 'ab9!' never seen in training, read as <unk>" in r.stderr
    assert r.stdout.startswith("ab9! → ")


def test_a_long_source_is_cut_and_translated(trained):
    r = cli("translate", trained, "--text", "a" * 10_000, timeout=120)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("content,match", [
    ("a\tb\nno tab on this line\n", r"pairs.tsv:2: no tab"),
    ("a\tb\n\tnothing\n", r"pairs.tsv:2: the source is empty"),
    ("", r"empty"),
])
def test_bad_pair_files_are_refused(tmp_path, content, match):
    f = tmp_path / "pairs.tsv"
    f.write_text(content)
    r = cli("train", "--task", "seq2seq", "--corpus", f, "--steps", "1", *TINY,
            "--runs-dir", tmp_path / "runs")
    one_line_error(r, match)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_blank_lines_and_long_lines_have_a_defined_handling(tmp_path):
    f = tmp_path / "pairs.tsv"
    rows = [f"{w}\t{w[::-1]}" for w in ("abc", "hello", "tab", "pairs", "xy") * 8]
    f.write_text("\n".join(rows[:20]) + "\n\n\n" + "\n".join(rows[20:]) + "\n" +
                 "q" * 10_000 + "\tshort\n")
    r = cli("train", "--task", "seq2seq", "--corpus", f, "--steps", "2", "--time-budget", "0",
            *TINY[:-1], "--runs-dir", tmp_path / "runs", "--name", "x")
    assert r.returncode == 0, r.stderr
    assert "cut to that length" in r.stdout + r.stderr


def tiny_config(**over) -> RunConfig:
    cfg = RunConfig.from_dict({"data": {"task": "seq2seq", "corpus": "reverse:n=400,min=3,max=5",
                                        "tokens": "char", "min_count": 1},
                               "model": {"cell": "gru", "hidden": 16, "embed": 8,
                                         "attention": "dot"},
                               "train": {"batch": 16, "eval_tokens": 50, **over}})
    return cfg.validate()


def test_checkpoint_restore_and_resume_are_bit_identical():
    a = Seq2SeqTask.from_config(tiny_config(teacher_forcing=0.7))
    for _ in range(3):
        a.step()
    arrays, meta = a.checkpoint()
    arrays = {k: np.array(v, copy=True) for k, v in arrays.items()}
    b = Seq2SeqTask.from_config(tiny_config(teacher_forcing=0.7))
    b.restore(arrays, meta)
    assert np.array_equal(a.net.params.data, b.net.params.data)
    assert a.evaluate() == b.evaluate()
    for _ in range(4):
        la, lb = a.step()[0].loss, b.step()[0].loss
        assert la == lb
    assert np.array_equal(a.net.params.data, b.net.params.data)
    assert a.epoch == b.epoch


def test_a_checkpoint_of_another_model_is_refused():
    from rnn_tui.errors import UserError

    a = Seq2SeqTask.from_config(tiny_config())
    arrays, meta = a.checkpoint()
    other = Seq2SeqTask.from_config(tiny_config())
    other.net.spec.hidden = 99  # as if it were built with other settings
    with pytest.raises(UserError, match="different model"):
        other.restore(arrays, meta)
    bad = dict(meta, pos=10**9)
    with pytest.raises(UserError, match="batching state"):
        Seq2SeqTask.from_config(tiny_config()).restore(arrays, bad)


@pytest.mark.parametrize("tokens,corpus", [("char", "addition:n=300"),
                                           ("word", "eng-fra")])
def test_a_reversed_source_is_read_the_same_way_in_training_and_decoding(tokens, corpus):
    """--reverse-source reverses the token order once, wherever a source is encoded: the
    held-out sources decoded at evaluation are the ids the model trained on."""
    cfg = tiny_config()
    cfg.data.corpus, cfg.data.tokens, cfg.data.reverse_source = corpus, tokens, True
    task = Seq2SeqTask.from_config(cfg.validate())
    first = task.data.sources[task.val_idx[0]]
    ids, _ = task.encode_source(first)
    assert list(ids) == list(task.val_set.src[0])
    plain, _ = task.src_vocab.encode(first)
    assert list(ids) == plain[::-1]
    assert task.val_sources[0] == first  # shown as written


def test_summary_counts_every_parameter_of_a_seq2seq_run(trained):
    import json

    r = cli("summary", trained, "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    arrays = np.load(trained / "checkpoint.npz")
    assert report["total_params"] == arrays["params"].size
    names = [row["name"] for row in report["layers"]]
    assert names[0] == "src embedding" and "attention" in names and names[-1] == "head"


def test_export_says_in_one_line_that_seq2seq_is_not_exported(trained):
    one_line_error(cli("export", trained, "--to", trained.parent / "w.safetensors"),
                   "seq2seq")
    assert not (trained.parent / "w.safetensors").exists()


def test_a_decoder_from_the_checkpoint_alone_decodes_as_the_task_does():
    """The app's try-it field and predict rebuild the decoder from a checkpoint's arrays and
    metadata; it must read and write exactly as the task (reversed sources too)."""
    from rnn_tui.explain.models import Translator
    from rnn_tui.tasks.seq2seq import Decoder
    from rnn_tui.tui.widgets.tryit import describe

    cfg = tiny_config()
    cfg.data.reverse_source = True
    task = Seq2SeqTask.from_config(cfg.validate())
    for _ in range(5):
        task.step()
    arrays, meta = task.checkpoint()
    dec = Decoder.from_checkpoint({"params": arrays["params"].copy()}, meta)
    for text in ("abc", "edcba", "zz"):
        a, b = task.translate(text, beam=3), dec.translate(text, beam=3)
        assert [h.ids for h in a] == [h.ids for h in b]
    pred = Translator(dec).predict("abcd")
    assert len(pred["attention"]) == len(pred["output_tokens"])
    assert all(len(row) == len(pred["source_tokens"]) for row in pred["attention"])
    assert pred["source_tokens"] == list("dcba")  # as the model reads it
    shown = describe("seq2seq", pred, None, "").plain
    assert f"→ {pred['output']}" in shown and "d c b a" in shown
    with pytest.raises(Exception, match="corrupt"):
        Decoder.from_checkpoint({"params": arrays["params"][:-1]}, meta)
