"""Every setting of a run that a flag, a config file, a sweep axis or the app can give."""

from __future__ import annotations

# flag -> (section, key, type, help)
TRAIN_FLAGS: list[tuple[str, str, str, type, str]] = [
    ("--task", "data", "task", str,
     "char | word | series | classify | tag | seq2seq (default char)"),
    ("--corpus", "data", "corpus", str,
     "corpus name (built-in or yours: see `rnn-tui corpora`), text file, or for series a CSV / "
     "built-in series, for classify a text<TAB>label file, for tag CoNLL-U or word<TAB>tag "
     "(pydoc)"),
    ("--encoding", "data", "encoding", str, "text encoding of the corpus file (default utf-8)"),
    ("--column", "data", "column", str,
     "CSV value column, by name or 0-based index; tag: the CoNLL-U column (upos | xpos)"),
    ("--val-fraction", "data", "val_fraction", float, "share of the text held out (0.1)"),
    ("--min-count", "data", "min_count", int, "word task: rarer words become <unk> (2)"),
    ("--max-vocab", "data", "max_vocab", int, "word task: vocabulary cap (10000)"),
    ("--lookback", "data", "lookback", int,
     "series: past steps the model reads, 0 = chosen to fit the series (0)"),
    ("--horizon", "data", "horizon", int, "series: steps forecast ahead (12)"),
    ("--holdout", "data", "holdout", int, "series: final points held out (24)"),
    ("--period", "data", "period", int, "series: seasonal period, 0 = detect (0)"),
    ("--scaling", "data", "scaling", str,
     "series: auto (exponential smoothing + RNNs on what it leaves) | raw | minmax | divide "
     "(by --scale): the tutorials' plain window model, windows of --lookback -> next (auto)"),
    ("--scale", "data", "scale", float, "series, --scaling divide: divide values by this (100)"),
    ("--windows", "data", "windows", int,
     "char/word: every window of N tokens predicts the next (many-to-one, no state carried), "
     "as the tutorials do; 0 = one stream, stateful (0)"),
    ("--val-data", "data", "val_data", str,
     "classify/tag: a held-out file (default: a seeded, stratified split of the data)"),
    ("--tokens", "data", "tokens", str, "classify: word | char (word)"),
    ("--max-len", "data", "max_len", int,
     "classify, tag: tokens per sentence, longer ones cut (with a notice); 0 = all (400)"),
    ("--digits", "data", "digits", int, "seq2seq, corpus addition: up to N digits a number (3)"),
    ("--pairs", "data", "pairs", int,
     "seq2seq, generated corpora (addition, reverse): how many pairs (50000)"),
    ("--reverse-source", "data", "reverse_source", bool,
     "seq2seq: read every source backwards (Sutskever et al. 2014)"),
    ("--word-features", "data", "word_features", str,
     "tag: suffix (each word's suffixes and shape, for unknown words) | none (suffix)"),
    ("--cell", "model", "cell", str, "rnn | rnn_relu | rnn_sigmoid | lstm | gru (gru)"),
    ("--hidden", "model", "hidden", int, "hidden units per layer (512)"),
    ("--layers", "model", "layers", int, "stacked recurrent layers (1)"),
    ("--embed", "model", "embed", int, "embedding size, 0 = one-hot input (64)"),
    ("--input", "model", "input", str,
     "auto (embedding, or one-hot with --embed 0) | index (the token's id / vocabulary size as "
     "one number; with --windows)"),
    ("--dropout", "model", "dropout", float,
     "dropout on the embeddings and after every layer (0)"),
    ("--bidirectional", "model", "bidirectional", bool,
     "classify/tag: a second direction reads each sentence backwards"),
    ("--attention", "model", "attention", str,
     "seq2seq: none | dot (Luong) | additive (Bahdanau) (additive)"),
    ("--recurrent-scale", "model", "recurrent_scale", float,
     "start each gate's W_hh orthogonal times S: S < 1 vanishes, S > 1 explodes "
     "(0 = PyTorch's init)"),
    ("--seq", "train", "seq", int, "time steps per batch (truncated BPTT length) (64)"),
    ("--batch", "train", "batch", int, "parallel streams per batch (32)"),
    ("--optimizer", "train", "optimizer", str, "sgd | adam | adamw | adagrad | rmsprop (adam)"),
    ("--lr", "train", "lr", float, "learning rate (3e-3)"),
    ("--lr-schedule", "train", "lr_schedule", str,
     "cosine (decay to lr/10) | plateau (halve when validation stalls) | constant"),
    ("--warmup", "train", "warmup", int, "steps of linear learning-rate warm-up (50)"),
    ("--clip", "train", "clip", float, "clip the global gradient norm, 0 = off (5)"),
    ("--steps", "train", "steps", int, "stop after this many steps, 0 = no limit (0)"),
    ("--patience", "train", "patience", int,
     "stop after this many evaluations without a new best validation loss, 0 = never (5; the "
     "app 10)"),
    ("--time-budget", "train", "time_budget", float, "stop after this many seconds of training "
     "(300; compiling kernels on a first start is not counted)"),
    ("--epochs", "train", "epochs", int, "stop after this many passes over the data, 0 = no limit"),
    ("--eval-every", "train", "eval_every", int, "steps between evaluations (250)"),
    ("--eval-tokens", "train", "eval_tokens", int, "validation tokens per evaluation"),
    ("--checkpoint-every", "train", "checkpoint_every", int, "steps between checkpoints (500)"),
    ("--sample-every", "train", "sample_every", int, "steps between samples (500)"),
    ("--sample-len", "train", "sample_len", int, "tokens per sample (200)"),
    ("--temperature", "train", "temperature", float, "sampling temperature (0.8)"),
    ("--top-k", "train", "top_k", int, "samples: only the k likeliest tokens, 1 = argmax (0)"),
    ("--log-every", "train", "log_every", int, "steps between progress events, 0 = ~5/s"),
    ("--seed", "train", "seed", int, "random seed (0)"),
    ("--teacher-forcing", "train", "teacher_forcing", float,
     "seq2seq: chance the decoder reads the reference's previous token, not its own guess "
     "(1 = teacher forcing; < 1 = scheduled sampling) (1)"),
    ("--dtype", "train", "dtype", str,
     "float32 | float64 (float32; float64 is for checking and skips the fused fast step)"),
]


def flags_to_dict(args) -> dict:
    """The settings given as flags, as ``{section: {key: value}}``."""
    out: dict[str, dict] = {}
    for _flag, sec, key, _typ, _hlp in TRAIN_FLAGS:
        v = getattr(args, key, None)
        if v is not None:
            out.setdefault(sec, {})[key] = v
    return out
