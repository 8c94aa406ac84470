"""The dashboard's explanation keys, kept beside it: ``i`` the "try it" field, ``x`` shading by
attribution (the classify panel's held-out sentences, the tag panel's sentence, the generated
text), ``b`` how far back a language model looks. Every explanation runs on a copy of the
current weights on a worker thread (:mod:`rnn_tui.tui.explaining`); the training goes on."""

from __future__ import annotations

from textual.binding import Binding
from textual.screen import Screen

from rnn_tui.tui.widgets.reach import REACH


class ExplainedScreen(Screen):
    """A screen with an ``EventSource`` (``self.source``) and a ``RunState``
    (``self.state``) that explains what it shows."""

    BINDINGS = [
        Binding("i", "try_it", "Try it", show=False),
        Binding("x", "toggle_shading", "Why?", show=False),
        Binding("b", "reach_view", "How far back", show=False),
    ]
    shading = False
    _explainer = None
    _seen: dict | None = None

    def explainer(self):
        if self._explainer is None:
            from rnn_tui.tui.explaining import Explainer

            self._explainer = Explainer(self.source, self.app.call_from_thread)
        return self._explainer

    def on_unmount(self) -> None:
        if self._explainer is not None:
            self._explainer.close()

    # each runs only when rnn_tui.tui.keys lets it (the dashboard's check_action)
    def action_try_it(self) -> None:
        from rnn_tui.tui.widgets.tryit import TryItScreen

        self.app.push_screen(TryItScreen(self.explainer()))

    def action_toggle_shading(self) -> None:
        self.shading = not self.shading
        self._seen = {}
        self.notify("shading by attribution (integrated gradients; green for, red against)"
                    if self.shading else "shading off", timeout=2)
        if not self.shading:
            self._set_shading(None, "all")
        self.explain_news()

    def reach_visible(self) -> bool:
        from textual.widgets import ContentSwitcher

        return self.query_one("#text-views", ContentSwitcher).current == "reach"

    def action_reach_view(self) -> None:
        from textual.widgets import ContentSwitcher

        sw = self.query_one("#text-views", ContentSwitcher)
        sw.current = "samples" if sw.current == "reach" else "reach"
        self._seen = {}
        self.explain_news()
        self._redraw_now("sample")

    # ------------------------------------------------------------------ what to explain
    def explain_news(self) -> None:
        """Ask for the explanations of whatever is newly shown (each once)."""
        if not (self.shading or (self.state.task in ("char", "word") and
                                 self.reach_visible())):
            return
        seen = self._seen if self._seen is not None else {}
        self._seen = seen
        st = self.state
        if self.shading and st.classify is not None and seen.get("classify") is not st.classify:
            seen["classify"] = st.classify
            texts = [str(ex.get("text", "")) for ex in st.classify.examples]
            self.explainer().submit("classify", lambda m, t=texts: _explain_all(m, t),
                                    lambda r, e: self._set_shading(r, "classify", e))
        if self.shading and st.tag is not None and seen.get("tag") is not st.tag:
            seen["tag"] = st.tag
            u = st.tag
            wrong = [i for i, (p, g) in enumerate(zip(u.pred, u.gold, strict=False)) if p != g]
            pos = str(wrong[0] if wrong else len(u.words) - 1)
            self.explainer().submit("tag", lambda m, w=list(u.words), p=pos: _explain(m, w, p),
                                    lambda r, e: self._set_shading(r, "tag", e))
        if st.samples and seen.get("sample") is not st.samples[-1]:
            seen["sample"] = s = st.samples[-1]
            tail = _tail(str(s.prime) + str(s.text), st.task)
            if tail.strip():
                self.explainer().submit(
                    "reach", lambda m, t=tail: _explain(m, t, None, "grad"),
                    lambda r, e, step=s.step: self._set_shading(r, "reach", e, step))

    def _set_shading(self, result, what: str, error: str = "", step=None) -> None:
        from rnn_tui.tui.widgets.labelled import ExampleStream, TaggedSentence
        from rnn_tui.tui.widgets.panels import SampleStream
        from rnn_tui.tui.widgets.reach import ReachView

        if not self.is_attached or (what in ("classify", "tag") and not self.shading):
            return  # closed, or shading turned off while it was computed
        if what in ("classify", "all"):
            self.query_one(ExampleStream).shading = result if what == "classify" else None
        if what in ("tag", "all"):
            self.query_one(TaggedSentence).shading = result if what == "tag" else None
        if what in ("reach", "all"):
            self.query_one(SampleStream).shading = result if self.shading and \
                what == "reach" and self.state.task == "char" else None
        if what == "reach":
            self.query_one(ReachView).show(result, error, step)
        elif error:
            self.notify(error, severity="warning", timeout=4)
        self._redraw_now("labelled")
        self._redraw_now("sample")


def _tail(text: str, task: str) -> str:
    """The last :data:`REACH` characters (or words) of a text."""
    if task == "word":
        return " ".join(text.split()[-REACH:])
    return text[-REACH:]


def _explain(model, text, target, method: str = "ig"):
    from rnn_tui.explain.attribution import attribute

    return attribute(model, text, method, target)


def _explain_all(model, texts: list[str]) -> dict:
    """{text: (attribution of its predicted label, token separator)} for each held-out
    sentence."""
    return {t: (_explain(model, t, None), model.sep) for t in texts if t.strip()}
