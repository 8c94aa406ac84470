"""Source-target pairs (data/pairs.py): the file reader's refusals and handling, generated
pairs, vocabularies, the split that keeps a source's pairs together, and batches."""

from __future__ import annotations

import numpy as np
import pytest

from rnn_tui.data import pairs as P
from rnn_tui.errors import UserError


@pytest.mark.parametrize("lines,match", [
    (["a\tb", "no tab here"], r":2: no tab"),
    (["a\tb", "\tb"], r":2: the source is empty"),
    (["a\tb", "x\t  "], r":2: the target is empty"),
    (["a\tb"], r"holds 1 source<TAB>target pair;"),
    ([], r"holds 0 source<TAB>target pairs"),
    (["", "   ", "\r"], r"holds 0"),
])
def test_malformed_files_are_refused_with_the_line(lines, match):
    with pytest.raises(UserError, match=match):
        P.parse_pairs(lines, "f.tsv")


def test_files_are_read_as_people_have_them():
    d = P.parse_pairs(["Go.\tVa !\tCC-BY attribution", "", "Hi.\tSalut.\r", "x\ty\tz\tw"],
                      "f.tsv")
    assert d.sources == ["Go.", "Hi.", "x"] and d.targets == ["Va !", "Salut.", "y"]
    assert d.notes == []


def test_a_long_side_is_cut_with_a_note():
    d = P.parse_pairs(["a" * 10_000 + "\tb", "c\td"], "f.tsv", max_chars=50)
    assert len(d.sources[0]) == 50 and d.sources[1] == "c"
    assert d.notes and "1 pair longer than 50 characters" in d.notes[0]


def test_the_builtin_translation_pairs_load():
    d = P.load_pairs("eng-fra")
    assert len(d) == 5000 and d.sources[0] == "Go." and d.targets[0] == "Va !"


def test_addition_pairs_are_right_and_distinct():
    d = P.addition_pairs(2000, 3, seed=1)
    assert len(set(d.sources)) == 2000
    for q, a in zip(d.sources, d.targets, strict=True):
        x, y = q.split("+")
        assert int(x) + int(y) == int(a) and len(x) <= 3 and len(y) <= 3
    r = P.addition_pairs(50, 3, seed=1, reverse_source=True)
    assert [s[::-1] for s in r.sources] == d.sources[:50]
    with pytest.raises(UserError, match="distinct sums"):
        P.addition_pairs(100, 1, seed=0)


def test_reverse_pairs():
    d = P.reverse_pairs(300, 5, 30, seed=2)
    assert all(5 <= len(s) <= 30 and t == s[::-1] for s, t in zip(d.sources, d.targets,
                                                                   strict=True))
    assert {len(s) for s in d.sources} >= {5, 30}


def test_split_keeps_every_source_on_one_side():
    sources = [f"s{i // 3}" for i in range(300)]  # three renderings of each source
    for seed in range(5):
        train, held = P.split_by_source(sources, 0.1, seed)
        assert not {sources[i] for i in train} & {sources[i] for i in held}
        assert len(train) + len(held) == 300 and 27 <= len(held) <= 33
    a, _ = P.split_by_source(sources, 0.1, 0)
    b, _ = P.split_by_source(sources, 0.1, 0)
    assert np.array_equal(a, b)


def test_vocab_reads_unknown_tokens_as_unk_and_round_trips():
    v = P.Vocab.build(["Va !", "Marche."], "word")
    ids, unknown = v.encode("Va vite !")
    assert unknown == 1 and ids[1] == P.UNK
    assert v.decode([*v.encode("Va !")[0], P.EOS, 5]) == "Va !"
    assert P.Vocab.from_meta(v.to_meta()).tokens == v.tokens
    with pytest.raises(ValueError):
        P.Vocab.from_meta({"tokens": ["a"], "how": "char"})
    c = P.Vocab.build(["abc"], "char")
    assert c.decode(c.encode("cab")[0]) == "cab"


def test_batches_are_time_major_and_padded():
    b = P.make_batch([np.array([5, 6, 7]), np.array([8])], [np.array([4]), np.array([9, 10])])
    assert b.src.shape == (3, 2) and list(b.src_len) == [3, 1]
    assert list(b.src[:, 1]) == [8, P.PAD, P.PAD]
    assert list(b.tgt_in[:, 0]) == [P.BOS, 4, P.PAD] and list(b.tgt_out[:, 0]) == [4, P.EOS, -1]
    assert list(b.tgt_in[:, 1]) == [P.BOS, 9, 10] and list(b.tgt_out[:, 1]) == [9, 10, P.EOS]
    assert b.src_mask.tolist() == [[True, True], [True, False], [True, False]]
