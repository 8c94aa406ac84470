"""The gradient of one head output's log-probability with respect to every input vector
(embedding rows, one-hot columns, real values): the network's kernels against the plain-NumPy
reference, float64 finite differences and PyTorch's autograd on the same weights, for RNN,
LSTM and GRU, one and two directions, two layers, padded batches, many-to-one and per-position
reads."""

from __future__ import annotations

import numpy as np
import pytest

from rnn_tui.core import NetSpec, Network
from rnn_tui.core.reference import input_gradient

TOL = 1e-10
EPS = 1e-4
CELLS = ["rnn", "lstm", "gru"]
T, B, V, H, K = 6, 3, 7, 4, 5
LENGTHS = np.array([6, 4, 2])


def log_softmax_at(k):
    """objective: f = log softmax(o)[k] for every row, and df/do = e_k - softmax(o)."""

    def objective(o):
        o = np.asarray(o, dtype=np.float64)
        z = o - o.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        grad = -np.exp(logp)
        grad[:, k] += 1.0
        return logp[:, k], grad

    return objective


def make_net(cell, bidirectional, input_mode, features=(), seed=0):
    rng = np.random.default_rng(seed)
    spec = NetSpec(cell=cell, input_mode=input_mode, input_size=V, embed_dim=3, hidden=H,
                   layers=2, output_size=K, bidirectional=bidirectional,
                   features=list(features), feature_dim=2)
    net = Network(spec, dtype=np.float64, seed=seed)
    net.params.data[:] += rng.normal(0, 0.3, net.params.data.shape)
    if input_mode == "real":
        x = rng.normal(0, 1, (T, B, V))
    elif features:
        x = np.stack([rng.integers(0, V, (T, B))] + [rng.integers(0, n, (T, B))
                                                      for n in features], axis=-1)
    else:
        x = rng.integers(0, V, (T, B))
    return net, x


def reference_layers(net):
    D = net.spec.directions
    return [tuple({k: v.copy() for k, v in net.layer_weights(layer, d == 1).items()}
                  for d in range(D)) for layer in range(net.spec.layers)]


CASES = [(cell, bi, mode, pos) for cell in CELLS for bi in (False, True)
         for mode in ("embedding", "onehot") for pos in (None, 1)]
CASES += [("lstm", True, "real", None), ("gru", False, "real", 1)]
CASE_IDS = [f"{c}-{'bi' if b else 'uni'}-{m}-{'summary' if p is None else f'pos{p}'}"
            for c, b, m, p in CASES]


@pytest.mark.parametrize("cell,bidirectional,mode,position", CASES, ids=CASE_IDS)
def test_input_gradient_matches_reference_and_finite_differences(cell, bidirectional, mode,
                                                                 position):
    net, tokens = make_net(cell, bidirectional, mode)
    x = net.input_vectors(tokens)
    # the vectors are what the token path reads: same outputs
    ref_fwd = net.forward(tokens, net.initial_state(B), lengths=LENGTHS)
    vec_fwd = net.forward(x, net.initial_state(B), lengths=LENGTHS, as_vectors=True)
    np.testing.assert_allclose(vec_fwd.y, ref_fwd.y, atol=1e-14)
    obj = log_softmax_at(2)
    f, _, dx = net.output_input_gradient(x, obj, position, LENGTHS)
    for b in range(B):
        f_ref, dx_ref = input_gradient(cell, x[:, b], LENGTHS[b], reference_layers(net),
                                       net.params["head.W"], net.params["head.b"], position, obj)
        assert abs(f[b] - f_ref[0]) < TOL
        np.testing.assert_allclose(dx[:, b], dx_ref, atol=TOL, rtol=0)
    # float64 central differences of fourth order on every input coordinate
    num = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        vals = []
        for k in (2, 1, -1, -2):
            xp = x.copy()
            xp[idx] += k * EPS
            vals.append(net.output_input_gradient(xp, obj, position, LENGTHS)[0][idx[1]])
        num[idx] = (-vals[0] + 8 * vals[1] - 8 * vals[2] + vals[3]) / (12 * EPS)
    np.testing.assert_allclose(dx, num, atol=TOL, rtol=0)
    for b, n in enumerate(LENGTHS):  # the padding reaches nothing
        assert not np.any(dx[n:, b])


def test_input_gradient_with_feature_channels():
    net, tokens = make_net("lstm", True, "embedding", features=(5, 4), seed=2)
    x = net.input_vectors(tokens)
    assert x.shape == (T, B, 3 + 2 * 2)
    obj = log_softmax_at(0)
    f, _, dx = net.output_input_gradient(x, obj, None, LENGTHS)
    for b in range(B):
        f_ref, dx_ref = input_gradient("lstm", x[:, b], LENGTHS[b], reference_layers(net),
                                       net.params["head.W"], net.params["head.b"], None, obj)
        np.testing.assert_allclose(dx[:, b], dx_ref, atol=TOL, rtol=0)


def torch_stack(torch, net):
    """A PyTorch module with the network's recurrent weights (input-major ours, transposed)."""
    s = net.spec
    mod = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[s.cell](
        s.input_width, s.hidden, s.layers, bidirectional=s.bidirectional).double()
    with torch.no_grad():
        for layer in range(s.layers):
            for suffix, rev in (("", False), ("_reverse", True))[: s.directions]:
                w = net.layer_weights(layer, rev)
                for ours, theirs in (("W_ih", "weight_ih"), ("W_hh", "weight_hh"),
                                     ("b_ih", "bias_ih"), ("b_hh", "bias_hh")):
                    v = w[ours].T if ours.startswith("W") else w[ours]
                    getattr(mod, f"{theirs}_l{layer}{suffix}").copy_(torch.tensor(v))
    return mod


@pytest.mark.parametrize("cell,bidirectional,mode,position", CASES, ids=CASE_IDS)
def test_input_gradient_matches_torch_autograd(cell, bidirectional, mode, position):
    torch = pytest.importorskip("torch")
    net, tokens = make_net(cell, bidirectional, mode, seed=1)
    x = net.input_vectors(tokens)
    _, _, dx = net.output_input_gradient(x, log_softmax_at(3), position, LENGTHS)
    mod = torch_stack(torch, net)
    W = torch.tensor(net.params["head.W"])
    bias = torch.tensor(net.params["head.b"])
    for b, n in enumerate(LENGTHS):
        xt = torch.tensor(x[:n, b : b + 1], requires_grad=True)
        out, _ = mod(xt)
        y = out[:, 0]
        if position is None:
            read = y[n - 1] if not bidirectional else torch.cat([y[n - 1, :H], y[0, H:]])
        else:
            read = y[position]
        logp = torch.log_softmax(read @ W + bias, dim=0)[3]
        logp.backward()
        np.testing.assert_allclose(dx[:n, b], xt.grad.numpy()[:, 0], atol=TOL, rtol=0)


def test_input_gradient_refuses_wrong_shapes():
    net, tokens = make_net("gru", False, "onehot")
    with pytest.raises(ValueError, match="input vectors"):
        net.output_input_gradient(np.zeros((T, B, V + 1)), log_softmax_at(0))
    with pytest.raises(ValueError, match="position"):
        net.output_input_gradient(net.input_vectors(tokens), log_softmax_at(0), position=T)
