"""Tokenizers: round trips, vocabularies, unknowns, serialisation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnn_tui.data.text import (
    UNK,
    CharTokenizer,
    WordTokenizer,
    join_words,
    split_words,
    tokenizer_from_dict,
)
from rnn_tui.errors import UserError


@given(st.text(min_size=1, max_size=300))
@settings(max_examples=150, deadline=None)
def test_char_round_trip(text):
    tok = CharTokenizer.fit(text)
    ids = tok.encode(text)
    assert ids.dtype == np.int64 and len(ids) == len(text)
    assert tok.decode(ids) == text
    assert tokenizer_from_dict(tok.to_dict()).decode(ids) == text


def test_char_vocab_sorted_and_unknowns():
    tok = CharTokenizer.fit("banana!")
    assert tok.vocab == sorted(set("banana!"))
    assert tok.vocab_size == 4
    with pytest.raises(UserError, match="not in the model's vocabulary"):
        tok.encode("bandana")
    assert tok.decode(tok.encode("bXnYa", unknown="skip")) == "bna"


_words = st.lists(st.sampled_from(["the", "cat", "sat", "on", "mat", ",", ".", "\n", "dog's"]),
                  min_size=1, max_size=60)


@given(_words)
@settings(max_examples=150, deadline=None)
def test_word_round_trip_on_normalised_text(words):
    text = join_words(words)
    tok = WordTokenizer().fit(text)
    assert split_words(text) == words
    assert tok.decode(tok.encode(text)) == text
    again = tokenizer_from_dict(tok.to_dict())
    assert again.decode(again.encode(text)) == text


def test_word_tokenizer_options():
    text = "The cat sat.\nThe cat ran; the DOG sat!\n"
    tok = WordTokenizer(lowercase=True, min_count=2).fit(text)
    assert tok.vocab[0] == UNK
    assert "\n" in tok.vocab and "the" in tok.vocab and "cat" in tok.vocab
    assert "dog" not in tok.vocab  # seen once, below min_count
    ids = tok.encode("the dog sat")
    assert ids[1] == 0  # <unk>
    assert tok.decode(tok.encode("the cat sat")) == "the cat sat"
    capped = WordTokenizer(max_vocab=3).fit(text)
    assert capped.vocab_size == 3
    cased = WordTokenizer(lowercase=False).fit(text)
    assert "The" in cased.vocab and "DOG" in cased.vocab


def test_join_words_spacing():
    assert join_words(["hello", ",", "world", "(", "x", ")", ".", "\n", "next"]) == \
        "hello, world (x).\nnext"


def test_unknown_kind_refused():
    with pytest.raises(UserError):
        tokenizer_from_dict({"kind": "bpe"})
