"""A corpus read into token ids: characters, or words with rare ones as ``<unk>``."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def read_tokens(data, tokenizer=None,
                on_vocabulary: Callable[[int, int], None] | None = None,
                train_part: Callable[[int], int] | None = None):
    """(tokenizer, token ids (int64)) of the corpus a config's data section names (``corpus``,
    ``encoding``, ``task`` char or word, ``lowercase``, ``min_count``, ``max_vocab``,
    ``vocab``); a given ``tokenizer`` (or the file ``data.vocab`` names) is used as it is.
    ``on_vocabulary(vocab_size, tokens)`` is called once the vocabulary is known and before the
    text is encoded (a memory check can refuse the run there); ``tokens`` is the text's length
    for characters, a third of it for words.

    A word vocabulary is built from the training part alone, the first ``train_part(n)`` of
    the ``n`` words (all of them without ``train_part``): words met only in the held-out part
    are ``<unk>`` there, and neither the model nor the unigram baseline has seen them. A
    character vocabulary is the text's character set (a character left out would drop out of
    the stream and move the split)."""
    from rnn_tui.data.corpora import load_corpus
    from rnn_tui.data.text import CharTokenizer, WordTokenizer, load_tokenizer, split_words

    corpus = load_corpus(data.corpus, encoding=data.encoding)
    if tokenizer is None and data.vocab:
        tokenizer = load_tokenizer(data.vocab, data.task)
    if tokenizer is not None:
        tok = tokenizer
    elif data.task == "word":
        tok = WordTokenizer(lowercase=data.lowercase, min_count=data.min_count,
                            max_vocab=data.max_vocab or None)
        words = split_words(corpus.text, data.lowercase)
        tok.fit_words(words[: train_part(len(words))] if train_part else words)
    else:
        tok = CharTokenizer.fit(corpus.text)
    if on_vocabulary is not None:
        n = len(corpus.text) if data.task == "char" else len(corpus.text) // 3
        on_vocabulary(tok.vocab_size, n)
    ids = tok.encode(corpus.text, unknown="skip") if data.task == "char" else \
        tok.encode(corpus.text)
    return tok, np.asarray(ids, dtype=np.int64)
