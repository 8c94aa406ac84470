"""Recipes: named, documented configurations — the classic worked examples learners arrive with,
reproduced with their own data and settings, and the realistic version of each beside it.

``rnn-tui recipes`` lists them; ``--recipe NAME`` runs one in the app or with ``train`` (its
settings come before ``--config`` and flags, so any of them can still be changed), and ``watch
--recipe NAME`` opens the latest run made from it. Each says what it teaches and what the app
shows that the original could not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rnn_tui.errors import UserError


@dataclass(frozen=True)
class Recipe:
    name: str
    title: str
    teaches: str
    shows: str  # what the app makes visible that the original example could not
    config: dict[str, dict[str, Any]] = field(default_factory=dict)
    origin: str = ""  # the worked example it reproduces, or "" for a realistic one

    def help(self) -> str:
        from rnn_tui.config import RunConfig

        lines = [f"{self.name}: {self.title}"]
        if self.origin:
            lines.append(f"  reproduces: {self.origin}")
        lines += [f"  teaches: {self.teaches}", f"  the app shows: {self.shows}", "  settings:"]
        for sec, values in self.config.items():
            lines.append("    " + f"[{sec}] " + ", ".join(f"{k} = {v!r}" for k, v in
                                                         values.items()))
        RunConfig.from_dict(self.config, f"recipe {self.name}")  # a recipe is a valid config
        return "\n".join(lines)


_PLAIN_TRAIN = {"optimizer": "adam", "lr": 1e-3, "warmup": 0, "lr_schedule": "constant",
                "clip": 0.0, "steps": 0, "time_budget": 0.0, "patience": 0}

# the seq2seq recipes' shared settings: pairs with and without attention differ in that only
_ADDITION = {"task": "seq2seq", "corpus": "addition", "digits": 3, "pairs": 50_000,
             "reverse_source": True, "tokens": "char", "min_count": 1}
_REVERSE = {"task": "seq2seq", "corpus": "reverse:min=5,max=30", "pairs": 50_000,
            "tokens": "char", "min_count": 1}
_SEQ2SEQ_TRAIN = {"batch": 64, "lr": 3e-3, "time_budget": 600.0, "eval_every": 250,
                  "eval_tokens": 1000, "patience": 0}

RECIPES: dict[str, Recipe] = {r.name: r for r in [
    Recipe(
        "sales-simplernn",
        "500 days of random 'sales', SimpleRNN(32) on windows of 7 (the Keras daily-sales "
        "example)",
        "many-to-one regression on windows of the past, scaling (divide by 100 and back), and "
        "the honest lesson of this data: it is white noise, so nothing beats the mean",
        "the forecast beside the mean, seasonal-naive and Holt baselines on the last 50 days: "
        "the network's error ends up at the mean's, and its forecast flattens to the mean",
        {"data": {"task": "series", "corpus": "random_integers:n=500,low=20,high=100,seed=42",
                  "scaling": "divide", "scale": 100.0, "lookback": 7, "horizon": 1,
                  "holdout": 50, "period": 0},
         "model": {"cell": "rnn", "hidden": 32, "layers": 1},
         "train": {**_PLAIN_TRAIN, "batch": 16, "epochs": 20, "eval_every": 25,
                   "checkpoint_every": 100}},
        origin="worked example 1 (docs/worked-examples.md): "
               "np.random.seed(42); randint(20, 100, 500); windows of 7, "
               "/100, SimpleRNN 32 tanh + Dense(1), Adam, MSE, 20 epochs, batch 16"),
    Recipe(
        "sine-lstm",
        "a noisy sine, LSTM(50) on windows of 10, a 20-step forecast fed back in (the Keras "
        "sine example)",
        "many-to-one regression on raw values, and a multi-step forecast made by feeding each "
        "prediction back as input (one-to-many from a window)",
        "the one-step predictions tracking the truth while the 20-step forecast drifts, the "
        "LSTM's gates over a window (key G), and the errors beside seasonal naive and "
        "Holt-Winters",
        {"data": {"task": "series",
                  "corpus": "sine:n=1000,period=62.83185307179586,noise=0.2,seed=0",
                  "scaling": "raw", "lookback": 10, "horizon": 20, "holdout": 20, "period": 0},
         "model": {"cell": "lstm", "hidden": 50, "layers": 1},
         "train": {**_PLAIN_TRAIN, "batch": 32, "epochs": 100, "eval_every": 100,
                   "checkpoint_every": 500}},
        origin="worked example 2 (docs/worked-examples.md): "
               "t = 0..99.9 by 0.1, y = sin t + N(0, 0.2), windows of 10, "
               "LSTM 50 + Dense(1), Adam, MSE, 100 epochs, raw values, 20 steps fed back"),
    Recipe(
        "sales-forecast",
        "a shop's daily sales (weekly season, trend, noise): exponential smoothing with "
        "recurrent networks on what it leaves",
        "forecasting with a seasonal period, and what a forecaster must beat: seasonal naive "
        "and Holt-Winters, judged on a held-out tail",
        "the forecast, the one-step predictions and the baselines on the held-out weeks, and "
        "which part of the model (smoothing, networks) earns its place",
        {"data": {"task": "series", "corpus": "sales", "holdout": 56, "scaling": "auto"}}),
    Recipe(
        "char-window",
        "characters of one sentence, SimpleRNN on windows of 10 (the Keras text example)",
        "many-to-one training on windows, then one-to-many generation by sliding the window "
        "over what the model wrote; why a model that has only ever seen 22 characters repeats "
        "or derails once it leaves them",
        "the hidden state of 256 tanh units over each window, and the generated text as it "
        "drifts off the training sentence; try --input auto --embed 0 (one-hot) beside the "
        "index-as-a-number input and watch the loss",
        {"data": {"task": "char", "corpus": "sample-text", "windows": 10},
         "model": {"cell": "rnn", "hidden": 256, "layers": 1, "input": "index", "embed": 0},
         "train": {"optimizer": "adam", "lr": 1e-3, "batch": 32, "epochs": 200, "steps": 0,
                   "time_budget": 0.0, "warmup": 0, "lr_schedule": "constant", "clip": 0.0,
                   "top_k": 1, "eval_every": 25, "sample_every": 100, "sample_len": 100,
                   "checkpoint_every": 100}},
        origin="worked example 3 (docs/worked-examples.md): "
               "'This is a sample text.', windows of 10, inputs id/V, "
               "SimpleRNN 256, Adam, 200 epochs, argmax generation"),
    Recipe(
        "pos-toy",
        "two tagged sentences, Embedding(50) + GRU(100) (the Keras POS example)",
        "many-to-many: a tag for every word needs the output at every step (the tutorial's GRU "
        "returned only its last state); padding and masks",
        "each word's predicted tag under it and the hidden state word by word; with nothing "
        "held out the score is on the training words, which 9 words make easy to memorise "
        "(pos-ewt is the same task on real text)",
        {"data": {"task": "tag", "corpus": "pos-toy", "word_features": "none"},
         "model": {"cell": "gru", "hidden": 100, "embed": 50, "layers": 1,
                   "bidirectional": False},
         "train": {"optimizer": "adam", "lr": 1e-3, "batch": 2, "epochs": 50, "steps": 0,
                   "time_budget": 0.0, "warmup": 0, "lr_schedule": "constant",
                   "eval_every": 5, "patience": 0}},
        origin="worked example 4 (docs/worked-examples.md): "
               "'The cat sat on the mat' / 'He ran quickly', "
               "Embedding(vocab, 50), GRU 100, Adam, 50 epochs"),
    Recipe(
        "sentiment-by-hand",
        "sentiment with a vanilla sigmoid RNN, 300-d word vectors, 128 units (the textbook "
        "BPTT derivation)",
        "many-to-one classification; why sigmoid units (slope at most 1/4) make the gradient "
        "through time vanish within a few words",
        "the gradient flowing back through each word dying away (the gradient panel as it "
        "opens, through time), the hidden state "
        "moving word by word toward the decision, and the accuracy beside the majority class "
        "and Naive Bayes baselines",
        {"data": {"task": "classify", "corpus": "sentiment", "min_count": 1},
         "model": {"cell": "rnn_sigmoid", "hidden": 128, "embed": 300, "layers": 1,
                   "bidirectional": False},
         "train": {"optimizer": "adam", "lr": 1e-3, "batch": 32, "time_budget": 120.0,
                   "eval_every": 50, "patience": 10}},
        origin="worked example 5 (docs/worked-examples.md): "
               "word vectors of 300, W_hx 128x300, W_hh 128x128, sigmoid "
               "hidden activation, W_oh 2x128 and a softmax over 2 classes"),
    Recipe(
        "pos-ewt",
        "part-of-speech tagging on the English Web Treebank, bidirectional GRU",
        "many-to-many tagging on real text; unknown words, and how a word's suffix and shape "
        "let the model tag words it never saw",
        "a held-out sentence tagged as it trains (mistakes in red, unknown words underlined), "
        "accuracy on known and unknown words beside the most-frequent-tag baseline",
        {"data": {"task": "tag", "corpus": "pos", "word_features": "suffix"},
         "model": {"cell": "gru", "hidden": 128, "embed": 64, "bidirectional": True,
                   "dropout": 0.3},
         "train": {"batch": 32, "lr": 3e-3, "time_budget": 120.0, "eval_every": 100,
                   "patience": 10}}),
    Recipe(
        "sentiment-reviews",
        "sentiment of 2,990 real review sentences, bidirectional GRU",
        "many-to-one classification on real text, and whether reading in order beats a bag "
        "of words",
        "accuracy curves beside the majority and Naive Bayes baselines, the confusion matrix "
        "and scored held-out sentences",
        {"data": {"task": "classify", "corpus": "sentiment", "min_count": 1},
         "model": {"cell": "gru", "hidden": 64, "embed": 64, "bidirectional": True,
                   "dropout": 0.5},
         "train": {"batch": 32, "lr": 2e-3, "time_budget": 120.0, "eval_every": 50,
                   "patience": 10}}),
    Recipe(
        "char-pydoc",
        "a character language model of the Python documentation, GRU 256",
        "many-to-many next-character prediction with the state carried between batches "
        "(truncated BPTT), then one-to-many generation",
        "the loss on held-out text, samples improving as it trains, single neurons that track "
        "quotes, brackets or line position (key m)",
        {"data": {"task": "char", "corpus": "pydoc"},
         "model": {"cell": "gru", "hidden": 256, "embed": 64},
         "train": {"time_budget": 600.0, "eval_every": 100, "sample_every": 100}}),
    Recipe(
        "vanishing",
        "a vanilla RNN whose W_hh starts at half an orthogonal matrix, clipping off",
        "vanishing gradients: backpropagation through time multiplies by W_hh and tanh' at "
        "every step, here by at most 0.5",
        "the gradient through time (the gradient panel as it opens; d switches to the norm "
        "over training) falling by orders of magnitude within a few steps",
        {"data": {"task": "char", "corpus": "arithmetic"},
         "model": {"cell": "rnn", "hidden": 64, "embed": 16, "recurrent_scale": 0.5},
         "train": {"clip": 0.0, "time_budget": 120.0, "eval_every": 100}}),
    Recipe(
        "exploding",
        "a ReLU RNN whose W_hh starts at twice an orthogonal matrix, clipping off",
        "exploding gradients: with |W_hh| > 1 and a slope of 1 the gradient through time "
        "grows at every step back (and the state carried from batch to batch with it), until "
        "a step blows the weights up",
        "the gradient through time rising the further back it goes (the gradient panel as "
        "it opens; d shows the norm over training and the clipping threshold), the divergence "
        "guard catching the blow-up and saying what happened (the app pauses; `train` rolls "
        "back, halves the rate and turns clipping on), and the run then learning",
        {"data": {"task": "char", "corpus": "arithmetic"},
         "model": {"cell": "rnn_relu", "hidden": 64, "embed": 16, "recurrent_scale": 2.0},
         "train": {"clip": 0.0, "lr": 0.05, "optimizer": "sgd", "warmup": 0, "seq": 16,
                   "lr_schedule": "constant", "time_budget": 120.0, "eval_every": 100}}),
    Recipe(
        "addition",
        "'535+61' -> '596' with an LSTM(128) encoder-decoder and no attention, reversed input "
        "(the Keras addition_rnn example)",
        "sequence to sequence: an encoder squeezes the question into one state, a decoder "
        "writes the answer from it, one character at a time; reversing the question puts the "
        "digits that decide the answer's first digits next to it",
        "the exact-match rate climbing against the copy baseline, the held-out sums decoded "
        "with their mistakes marked, and the accuracy by question length",
        {"data": {**_ADDITION},
         "model": {"cell": "lstm", "hidden": 128, "layers": 1, "embed": 32,
                   "attention": "none"},
         "train": {**_SEQ2SEQ_TRAIN}},
        origin="Keras examples, addition_rnn.py: 3 digits, 50,000 questions, reversed, one "
               "LSTM of 128 units, 99 % in about 100 epochs"),
    Recipe(
        "addition-attention",
        "the same sums with Bahdanau (additive) attention",
        "attention: each output step looks back at every source position and reads the ones "
        "that matter (here the digits it is adding) instead of one fixed-size state",
        "the attention heatmap (answer digits down, question across) turning into the "
        "diagonal pattern of column addition while it trains, beside the no-attention run's "
        "accuracy (rnn-tui compare)",
        {"data": {**_ADDITION},
         "model": {"cell": "lstm", "hidden": 128, "layers": 1, "embed": 32,
                   "attention": "additive"},
         "train": {**_SEQ2SEQ_TRAIN}}),
    Recipe(
        "reverse",
        "a string of 5-30 letters written backwards, with attention",
        "attention on the plainest alignment there is: output step t reads source position "
        "n - t, however long the string",
        "an anti-diagonal heatmap, and exact match that holds up for the longest strings",
        {"data": {**_REVERSE},
         "model": {"cell": "lstm", "hidden": 128, "layers": 1, "embed": 32,
                   "attention": "additive"},
         "train": {**_SEQ2SEQ_TRAIN}}),
    Recipe(
        "reverse-no-attention",
        "the same strings without attention: everything through one fixed-size state",
        "where a fixed-size state runs out (Bahdanau et al. 2015): long strings cannot be "
        "held in one vector of 128 numbers",
        "exact match by source length falling for long strings, where the attention run's "
        "stays up (rnn-tui compare shows both)",
        {"data": {**_REVERSE},
         "model": {"cell": "lstm", "hidden": 128, "layers": 1, "embed": 32,
                   "attention": "none"},
         "train": {**_SEQ2SEQ_TRAIN}}),
    Recipe(
        "translate",
        "English to French on 5,000 short Tatoeba pairs, words, GRU(256) with attention (the "
        "PyTorch seq2seq tutorial's data)",
        "translation as sequence to sequence with attention, scored by BLEU and chrF against "
        "every reference a sentence has, beside copying the source",
        "the attention between English and French words, decoded held-out sentences beside "
        "their references, and BLEU rising over the copy baseline",
        {"data": {"task": "seq2seq", "corpus": "eng-fra", "tokens": "word", "min_count": 1},
         "model": {"cell": "gru", "hidden": 256, "layers": 1, "embed": 128, "dropout": 0.1,
                   "attention": "additive"},
         "train": {"batch": 32, "lr": 2e-3, "time_budget": 600.0, "eval_every": 200,
                   "eval_tokens": 1000, "patience": 10}},
        origin="PyTorch tutorial 'Translation with a Sequence to Sequence Network and "
               "Attention' (Tatoeba eng-fra pairs, GRU encoder-decoder, Bahdanau attention)"),
]}


def get_recipe(name: str) -> Recipe:
    if name not in RECIPES:
        from rnn_tui.config import suggest

        raise UserError(f"unknown recipe {name!r}{suggest(name, RECIPES)}; `rnn-tui recipes` "
                        "lists them")
    return RECIPES[name]
