"""The dashboard: loss curves, gradients, the hidden state, generated text (or the forecast for
series), and a status line — all fed from one :class:`~rnn_tui.tui.source.EventSource`.

A timer drains the source a few times a second and folds events into a :class:`RunState`; each
view redraws only when its own data changed and no more often than its rate allows, so the bytes
sent to the terminal stay small (see ``benchmarks/terminal.py``).
"""

from __future__ import annotations

import time

from textual import events
from textual.actions import parse as parse_action
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal
from textual.css.query import NoMatches
from textual.widgets import ContentSwitcher, Footer

from rnn_tui.train.events import CheckpointSaved, Failed, Finished, Notice, Paused, Resumed
from rnn_tui.tui.keys import KeyContext, why_not
from rnn_tui.tui.screens.explained import ExplainedScreen
from rnn_tui.tui.source import EventSource
from rnn_tui.tui.state import RunState, fmt_time
from rnn_tui.tui.widgets.curves import ForecastChart, GradChart, LossChart
from rnn_tui.tui.widgets.heatmap import Heatmap
from rnn_tui.tui.widgets.inside import EmbeddingView, GatesView, NextTokenView, SaturationChart
from rnn_tui.tui.widgets.labelled import (
    AccuracyChart,
    ConfusionView,
    ExampleStream,
    TaggedSentence,
)
from rnn_tui.tui.widgets.panels import (
    ErrorTable,
    NeuronView,
    Panel,
    SampleStream,
    StatusLine,
    finite,
)
from rnn_tui.tui.widgets.reach import ReachView
from rnn_tui.tui.widgets.seq2seq import AttentionView, ExactMatchChart
from rnn_tui.tui.widgets.unrolled import ModelView

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
# the task's own panel, by the view it names (train/task.py); text when a run names none
TASK_PANELS = {"text": "text-panel", "forecast": "forecast-panel",
               "classify": "classify-panel", "tag": "tag-panel", "seq2seq": "seq2seq-panel"}


def describe_run(s) -> str:
    """The subtitle: task · corpus · cell layers×hidden · parameters, from a run_started event
    (whatever its config holds)."""
    cfg = s.config if isinstance(s.config, dict) else {}
    m = cfg.get("model") if isinstance(cfg.get("model"), dict) else {}
    d = cfg.get("data") if isinstance(cfg.get("data"), dict) else {}
    params = f"{s.parameters:,}" if isinstance(s.parameters, int) else "?"
    corpus = str(d.get("corpus", "?"))
    corpus = corpus.rsplit("/", 1)[-1] or corpus  # a file by its name, not its whole path
    return (f"{d.get('task', s.task)} · {corpus} · {str(m.get('cell', '')).upper()} "
            f"{m.get('layers', '?')}×{m.get('hidden', '?')} · {params} params")


class DashboardScreen(ExplainedScreen):
    # The footer shows a key only while it applies (rnn_tui.tui.keys); Help and Quit first, so
    # that they fit at 80 columns
    BINDINGS = [
        Binding("question_mark", "app.help", "Help", key_display="?"),
        Binding("q", "app.quit", "Quit"),
        Binding("space", "toggle_pause", "Pause/Resume"),
        Binding("s", "sample", "Sample"),
        Binding("w", "save", "Save", show=False),
        Binding("plus,equals_sign", "temperature(0.1)", "Temp+", key_display="+"),
        Binding("minus,underscore", "temperature(-0.1)", "Temp−", key_display="-"),
        Binding("right_square_bracket", "unit(1)", "Unit+", key_display="]"),
        Binding("left_square_bracket", "unit(-1)", "Unit−", key_display="[", show=False),
        Binding("l", "layer(1)", "Layer"),
        Binding("L", "layer(-1)", "Layer−", show=False),
        Binding("c", "toggle_cell", "h/c", show=False),
        Binding("m", "toggle_memory_view", "Heatmap/Neuron", show=False),
        Binding("G", "gates_view", "Gates", key_display="G"),
        Binding("e", "embedding_view", "Embeddings", show=False),
        Binding("u", "model_view", "Model"),
        Binding("p", "next_token_view", "Next-token", show=False),
        Binding("full_stop", "step_once", "One step", key_display="."),
        Binding("r", "set_value('lr')", "Learning rate", show=False),
        Binding("k", "set_value('clip')", "Clip", show=False),
        Binding("d", "toggle_grad_mode", "Grad view", show=False),
        Binding("v", "next_view", "View"),
        Binding("f", "forecast_view", "Forecast"),
        Binding("g", "generate", "Generate"),
        Binding("n", "setup", "New run", show=False),
        Binding("a", "next_pair", "Next pair"),
    ]

    def __init__(self, source: EventSource, low_bandwidth: bool = False, **kw):
        super().__init__(**kw)
        self.source = source
        self.state = RunState()
        self.low_bandwidth = low_bandwidth
        # seconds between redraws of each view
        self.rates = ({"status": 2.0, "loss": 5.0, "grads": 5.0, "hidden": 5.0, "sample": 2.0,
                       "forecast": 5.0, "labelled": 5.0, "embedding": 10.0} if low_bandwidth else
                      {"status": 1.0, "loss": 1.0, "grads": 1.0, "hidden": 1.0, "sample": 0.25,
                       "forecast": 1.0, "labelled": 1.0, "embedding": 2.0})
        self.dirty: set[str] = set()
        self.last_draw: dict[str, float] = {}
        self.sel_unit = 0
        self.sel_token = 0  # the embedding view's chosen token
        self.sel_layer = 0
        self.revealed = 0  # tokens of the newest sample shown so far (it streams in)
        self._streaming = None
        self.sel_cell = False
        self.view_index = 0
        self.opened = time.monotonic()
        self._spin = 0
        self._stepping = False  # `.` was pressed: the pause that follows is expected
        self._saving = False  # `w` was pressed: the checkpoint that follows is news
        self._held: list[tuple[str, str, float]] = []  # notices that came while out of view
        self._keys_seen: KeyContext | None = None
        self._run_seen = 0.0  # when the run_started event came

    def compose(self) -> ComposeResult:
        yield StatusLine("starting…", id="status")
        with Grid(id="panels"):
            with Panel(id="loss-panel") as p:
                p.border_title = "Loss"
                yield LossChart(self.state, id="loss")
            with Panel(id="grad-panel") as p:
                p.border_title = r"Gradients \[d]"
                yield GradChart(self.state, id="grads")
            with Panel(id="hidden-panel") as p:
                p.border_title = r"Hidden state \[m] \[ ] \[l] \[c]"
                with ContentSwitcher(initial="heatmap", id="memory"):
                    yield Heatmap(id="heatmap")
                    yield NeuronView(id="neurons")
                    yield GatesView(id="gates")
                    yield SaturationChart(self.state, id="saturation")
                    yield EmbeddingView(self.state, id="embeddings")
                    yield ModelView(id="model")
            with Panel(id="text-panel") as p:
                p.border_title = r"Generated text \[s] \[+/-] \[p] \[b] \[i]"
                with ContentSwitcher(initial="samples", id="text-views"):
                    yield SampleStream(id="samples")
                    yield NextTokenView(id="next-token")
                    yield ReachView(id="reach")
            with Panel(id="forecast-panel", classes="series") as p:
                p.border_title = r"Forecast \[f]"
                yield ForecastChart(self.state, id="forecast")
                yield ErrorTable(id="errors")
            with Panel(id="classify-panel") as p:
                p.border_title = r"Classification \[i] \[x]"
                yield AccuracyChart(self.state, id="classify-accuracy")
                with Horizontal(id="classify-bottom"):
                    yield ConfusionView(id="confusion")
                    yield ExampleStream(id="examples")
            with Panel(id="tag-panel") as p:
                p.border_title = r"Tagging \[i] \[x]"
                yield AccuracyChart(self.state, id="tag-accuracy")
                yield TaggedSentence(id="tagged")
            with Panel(id="seq2seq-panel") as p:
                p.border_title = r"Sequence to sequence: attention \[a], decoded held-out pairs"
                yield ExactMatchChart(self.state, id="seq2seq-accuracy")
                yield AttentionView(id="attention")
        yield Footer()

    def on_mount(self) -> None:
        for pid in ("forecast-panel", "classify-panel", "tag-panel", "seq2seq-panel"):
            self.query_one(f"#{pid}").display = False
        self.set_interval(1.0 if self.low_bandwidth else 0.25, self.tick)
        self.tick()
        self.call_after_refresh(self._redraw_now, "status")  # again, now that widths are known

    # below this many rows a labelled task's panel drops its accuracy chart (the tables
    # beneath say the accuracy in one line); maximised (v) it comes back
    CHART_MIN_ROWS = 14
    SEQ2SEQ_CHART_MIN_ROWS = 30  # the attention and the decoded pairs come first

    def on_resize(self) -> None:
        self._redraw_now("status")
        self.call_after_refresh(self._fit_labelled)

    # narrower than this, the classify panel puts its sentences under the confusion matrix
    STACK_BELOW_COLS = 90

    def _fit_labelled(self) -> None:
        for pid, cid in (("classify-panel", "classify-accuracy"), ("tag-panel", "tag-accuracy"),
                         ("seq2seq-panel", "seq2seq-accuracy")):
            panel = self.query_one(f"#{pid}")
            rows = self.SEQ2SEQ_CHART_MIN_ROWS if pid == "seq2seq-panel" else self.CHART_MIN_ROWS
            tall = panel.size.height >= rows or self.maximized is panel
            self.query_one(f"#{cid}").display = tall
        panel = self.query_one("#classify-panel")
        self.query_one("#classify-bottom").set_class(
            panel.size.width < self.STACK_BELOW_COLS, "stacked")
        if self.task_panel() == "seq2seq-panel":  # the attention view fits what it is given
            self.call_after_refresh(self.draw_labelled)

    # ------------------------------------------------------------------ event flow
    def tick(self) -> None:
        for e in self.source.drain():
            self.dirty |= self.state.apply(e)
            if "run" in self.dirty:
                self._on_run_started()
            if isinstance(e, (Failed, Paused, Resumed, Finished)):
                self.last_draw.pop("status", None)  # a change of state shows at once
            if isinstance(e, Paused) and self._stepping:
                self._stepping = False  # the one step asked for: the status line says so
            elif isinstance(e, (Failed, Paused)) and self.state.message:
                # a divergence pauses the run; a failure ends it: say so where it is seen
                self.tell(self.state.message, "error", 30)
            if isinstance(e, Notice):
                self.tell(e.message, "warning", 12)
            if isinstance(e, CheckpointSaved) and self._saving:
                self._saving = False
                self.tell(f"saved step {e.step:,} to {e.path}", "information", 4)
        self.dirty.add("status")
        self.explain_news()
        self.redraw()
        keys = self.key_context()
        if keys != self._keys_seen:  # the footer shows the keys that apply now
            self._keys_seen = keys
            self.refresh_bindings()

    def tell(self, message: str, severity: str, timeout: float) -> None:
        """Notify about this run, unless another run's dashboard is on screen (one opened to
        watch): then it is held until this one is back (a notice belongs to its run)."""
        top = self.app.screen
        if top is self or not isinstance(top, DashboardScreen):
            self.notify(message, severity=severity, timeout=timeout)
        else:
            self._held = [*self._held[-4:], (message, severity, timeout)]

    def on_screen_resume(self) -> None:
        self.call_after_refresh(self._show_held)  # (a notify within this handler is lost)
        self.refresh_bindings()

    def _show_held(self) -> None:
        held, self._held = self._held, []
        for message, severity, timeout in held:
            self.notify(message, severity=severity, timeout=timeout)

    def _on_run_started(self) -> None:
        self.dirty.discard("run")
        self._run_seen = time.monotonic()
        mine = self.task_panel()
        for pid in TASK_PANELS.values():
            self.query_one(f"#{pid}").display = pid == mine
        self.call_after_refresh(self._fit_labelled)
        self.app.sub_title = self.describe()

    def describe(self) -> str:
        s = self.state.started
        if s is None:
            return ""
        return describe_run(s)

    def due(self, aspect: str, now: float) -> bool:
        if aspect not in self.dirty:
            return False
        if now - self.last_draw.get(aspect, 0.0) < self.rates[aspect]:
            return False
        self.last_draw[aspect] = now
        self.dirty.discard(aspect)
        return True

    def redraw(self, force: bool = False) -> None:
        now = time.monotonic()
        if force:
            self.dirty |= set(self.rates)
            self.last_draw.clear()
        if "val" in self.dirty:  # a new evaluation is news: draw it now, whatever the rate
            self.dirty.discard("val")
            self.last_draw.pop("loss", None)
            self.last_draw.pop("status", None)
        if self.due("status", now):
            self.query_one(StatusLine).show(self.status_text())
        if self.due("loss", now):
            self.query_one(LossChart).refresh()
        if self._due_grads(now):
            self.query_one(GradChart).refresh()
        if self.due("hidden", now):
            self.draw_hidden()
        self._stream(now)
        if self.due("sample", now):
            if self.query_one("#text-views", ContentSwitcher).current == "next-token":
                self.query_one(NextTokenView).show(self.state, self.revealed)
            else:
                self.query_one(SampleStream).show(self.state, self.revealed)
        if self.due("embedding", now) and self.memory_view() == "embeddings":
            self.query_one(EmbeddingView).show(self.sel_token)
        if self.due("forecast", now):
            self.query_one(ForecastChart).refresh()
            self.query_one(ErrorTable).show(self.state)
        if self.due("labelled", now):
            self.draw_labelled()

    def _due_grads(self, now: float) -> bool:
        chart = self.query_one(GradChart)
        key = "flow" if chart.mode == "depth" else "grads"
        if key == "flow" and "flow" in self.dirty:
            self.dirty.discard("flow")
            self.dirty.add("grads")
        elif key == "grads":
            self.dirty.discard("flow")
        return self.due("grads", now)

    # a warm start loads its kernels from the cache in a second or two; past this many
    # seconds before the first step, they are being compiled (the first start of an install)
    COMPILE_HINT_S = 4.0

    def status_text(self) -> str:
        st = self.state
        src = self.source
        if st.status == "starting":
            self._spin += 1
            return (f"{SPINNER[self._spin % len(SPINNER)]} preparing the corpus and model… "
                    f"{fmt_time(time.monotonic() - self.opened)}")
        if st.status == "compiling":
            self._spin += 1
            waited = time.monotonic() - (self._run_seen or self.opened)
            what = ("compiling kernels (the first start of an install; cached afterwards)"
                    if waited >= self.COMPILE_HINT_S and src.live else "starting the first step")
            return (f"{SPINNER[self._spin % len(SPINNER)]} {what}… "
                    f"{fmt_time(time.monotonic() - self.opened)}")
        extra: list[tuple[int, str]] = []
        if src.live and "text" in st.views and st.status in ("training", "paused"):
            extra.append((3, f"T={src.temperature:.1f}"))
        skipped = getattr(src, "skipped", 0)
        if skipped:
            extra.append((1, f"{skipped:,} bad line{'s' if skipped != 1 else ''} skipped"))
        trouble = getattr(src, "error", "")
        if trouble:
            extra.append((0, trouble))
        head = "" if src.live else "watching · "
        width = max(self.size.width - 2 - len(head), 20)
        return head + st.status_line(width, tuple(extra))

    # tokens of a new sample revealed per redraw: it streams in at a pace a person can read
    REVEAL = 6

    def _stream(self, now: float) -> None:
        s = self.state.samples[-1] if self.state.samples else None
        if s is None:
            return
        if s is not self._streaming:
            self._streaming = s
            self.revealed = len(s.pieces) if self.low_bandwidth else 0
        if self.revealed < len(s.pieces):
            self.revealed = min(len(s.pieces), self.revealed + self.REVEAL)
            self.dirty.add("sample")

    def memory_view(self) -> str:
        return self.query_one("#memory", ContentSwitcher).current or "heatmap"

    def draw_hidden(self) -> None:
        snap = self.state.hidden
        if snap is None or not snap.h:
            return
        view = self.memory_view()
        if view == "gates":
            self.query_one(GatesView).show(self.state, self.sel_layer, self.sel_unit)
            self.query_one("#hidden-panel").border_title = (
                f"Gates · layer {self.sel_layer} · unit {self.sel_unit} " r"\[G] \[ ] \[l]")
            return
        if view == "saturation":
            chart = self.query_one(SaturationChart)
            chart.layer = self.sel_layer
            chart.refresh()
            self.query_one("#hidden-panel").border_title = (
                f"Gate saturation · layer {self.sel_layer} " r"\[G] \[l]")
            return
        if view == "model":
            self.query_one(ModelView).show(self.state.model)
            self.query_one("#hidden-panel").border_title = r"Model · " + (
                r"loop \[u: back]" if self.query_one(ModelView).loop else r"unrolled \[u: loop]")
            return
        if view == "embeddings":
            self.query_one("#hidden-panel").border_title = r"Embeddings \[e] \[ ]"
            self.query_one(EmbeddingView).show(self.sel_token)
            return
        mats = snap.c if (self.sel_cell and snap.c) else snap.h
        self.sel_layer = min(self.sel_layer, len(mats) - 1)
        m = mats[self.sel_layer]
        if not m:
            return
        self.sel_unit = min(self.sel_unit, len(m) - 1)
        scale = 1.0
        if self.sel_cell:
            scale = max([1.0] + [abs(v) / 2 for row in m for v in finite(row)])
        hm = self.query_one(Heatmap)
        hm.unit = self.sel_unit
        hm.set_data(snap.tokens, m, scale)
        self.query_one(NeuronView).show(self.state, self.sel_layer, self.sel_unit, self.sel_cell)
        kind = "c (cell)" if self.sel_cell else "h"
        self.query_one("#hidden-panel").border_title = (
            f"Hidden {kind} · layer {self.sel_layer} · unit {self.sel_unit} "
            r"\[m] \[ ] \[l] \[c]")

    def _redraw_now(self, aspect: str) -> None:
        self.dirty.add(aspect)
        self.last_draw.pop(aspect, None)
        self.redraw()

    # ------------------------------------------------------------------ keys
    def key_context(self) -> KeyContext:
        """What the keys depend on now (see :mod:`rnn_tui.tui.keys`)."""
        st = self.state
        snap = st.hidden
        cfg = st.started.config if st.started and isinstance(st.started.config, dict) else {}
        model = cfg.get("model") if isinstance(cfg.get("model"), dict) else {}
        try:
            view = self.memory_view()
        except NoMatches:  # not composed yet
            view = "heatmap"
        return KeyContext(
            live=self.source.live, status=st.status, task=st.task, views=st.views,
            message=st.message, snapshot=bool(snap and snap.h), layers=st.layers,
            cell_state=bool(snap and snap.c), gates=bool(snap and snap.gates),
            cell=str(model.get("cell", "")), reads_tokens="forecast" not in st.views,
            embedding=bool(st.embedding and st.embedding.vectors),
            can_setup=getattr(self.app, "cfg", None) is not None, checkpoint=st.checkpoint,
            memory_view=view, model=st.model is not None)

    def check_action(self, action: str, parameters) -> bool | None:
        """A key that does not apply now is left out of the footer (pressing it says why)."""
        return why_not(action, self.key_context()) is None

    def on_key(self, event: events.Key) -> None:
        """A key bound here that does not apply now says why, instead of doing nothing."""
        for binding in self._bindings.key_to_bindings.get(event.key, ()):
            _ns, action, _params = parse_action(binding.action)
            why = why_not(action, self.key_context())
            if why is not None:
                event.stop()
                event.prevent_default()
                self.refuse(why)
                return

    def refuse(self, why: str) -> None:
        self.notify(why, severity="warning", timeout=4)

    def try_action(self, action: str) -> None:
        """Run ``action`` (from the command palette), or say why it does not apply."""
        _ns, name, _params = parse_action(action)
        why = why_not(name, self.key_context())
        if why is not None:
            self.refuse(why)
        else:
            self.call_later(self.run_action, action)

    def reveal(self, panel: str) -> None:
        """With another panel maximised, a key that changes ``panel`` brings it into view."""
        if self.maximized is not None and self.maximized.id != panel:
            ids = self.panels()
            if panel in ids:
                self.view_index = ids.index(panel) + 1
                self.show_view()

    # ------------------------------------------------------------------ actions
    # each runs only when rnn_tui.tui.keys lets it (check_action), so none checks again
    def action_toggle_pause(self) -> None:
        self.source.toggle_pause()
        self.notify("resuming…" if self.state.status == "paused" else "pausing…", timeout=1.5)

    def action_sample(self) -> None:
        self.source.sample_now()
        self.reveal("text-panel")
        self.notify("sampling…", timeout=1.5)

    def action_save(self) -> None:
        self._saving = True
        self.source.save_now()
        self.notify("saving a checkpoint…", timeout=1.5)

    def action_temperature(self, delta: float) -> None:
        t = round(min(3.0, max(0.1, self.source.temperature + delta)), 2)
        if t == round(self.source.temperature, 2):
            self.refuse(f"the temperature is already at its {'highest' if delta > 0 else 'lowest'}"
                        f" ({t:g})")
            return
        self.source.set_temperature(t)
        self.notify(f"temperature {t:g} (from the next sample)", timeout=1.5)
        self._redraw_now("status")

    # the hidden-state panel's views, by the selections they show
    USES = {"unit": ("heatmap", "neurons", "gates", "embeddings"),
            "layer": ("heatmap", "neurons", "gates", "saturation"),
            "cell": ("heatmap", "neurons")}

    def _show_selection(self, what: str) -> None:
        """A key that picks a unit, layer or h/c shows it: the heatmap, when the panel's
        view does not show that choice."""
        sw = self.query_one("#memory", ContentSwitcher)
        if (sw.current or "heatmap") not in self.USES[what]:
            sw.current = "heatmap"
        self.reveal("hidden-panel")

    def action_unit(self, delta: int) -> None:
        self._show_selection("unit")
        if self.memory_view() == "embeddings":
            n = len(self.state.embedding.tokens) if self.state.embedding else 1
            self.sel_token = (self.sel_token + delta) % max(n, 1)
            self._redraw_now("embedding")
            return
        snap = self.state.hidden
        units = len(snap.h[min(self.sel_layer, len(snap.h) - 1)]) if snap and snap.h else 1
        self.sel_unit = (self.sel_unit + delta) % max(units, 1)
        self._redraw_now("hidden")

    def action_layer(self, delta: int) -> None:
        self._show_selection("layer")
        n = max(self.state.layers, 1)
        self.sel_layer = (self.sel_layer + delta) % n
        self._redraw_now("hidden")

    def action_toggle_cell(self) -> None:
        self._show_selection("cell")
        self.sel_cell = not self.sel_cell
        self._redraw_now("hidden")

    def action_toggle_memory_view(self) -> None:
        sw = self.query_one("#memory", ContentSwitcher)
        sw.current = "neurons" if sw.current == "heatmap" else "heatmap"
        self.reveal("hidden-panel")
        self._redraw_now("hidden")

    def action_gates_view(self) -> None:
        """G: the gates, then their saturation, then back to the hidden state."""
        sw = self.query_one("#memory", ContentSwitcher)
        sw.current = {"gates": "saturation", "saturation": "heatmap"}.get(sw.current, "gates")
        self.reveal("hidden-panel")
        self._redraw_now("hidden")

    def action_embedding_view(self) -> None:
        sw = self.query_one("#memory", ContentSwitcher)
        sw.current = "heatmap" if sw.current == "embeddings" else "embeddings"
        self.reveal("hidden-panel")
        self._redraw_now("hidden")
        self._redraw_now("embedding")

    def action_model_view(self) -> None:
        """u: the model unrolled (maximised), then folded into its loop, then back."""
        sw, view = self.query_one("#memory", ContentSwitcher), self.query_one(ModelView)
        if sw.current != "model":
            sw.current, view.loop, self.view_index = "model", False, 3
        elif not view.loop:
            view.loop = True
        else:
            sw.current, self.view_index = "heatmap", 0
        self.show_view()

    def action_next_token_view(self) -> None:
        sw = self.query_one("#text-views", ContentSwitcher)
        sw.current = "samples" if sw.current == "next-token" else "next-token"
        self.reveal("text-panel")
        self._redraw_now("sample")

    def action_step_once(self) -> None:
        self._stepping = True
        self.source.step_once()

    def action_set_value(self, which: str) -> None:
        from rnn_tui.tui.screens.value import ValueScreen

        current = self.source.learning_rate if which == "lr" else self.source.clip
        title = ("learning rate (> 0; the schedule still applies)" if which == "lr" else
                 "clip the global gradient norm at (0 = off)")

        def done(value: float | None) -> None:
            if value is None:
                return
            if which == "lr":
                self.source.set_lr(value)
            else:
                self.source.set_clip(value)
            self.notify(f"{'learning rate' if which == 'lr' else 'clip'} set to {value:g}",
                        timeout=2)

        self.app.push_screen(ValueScreen(title, current, minimum=0.0 if which == "clip"
                                         else 1e-12), done)

    def action_toggle_grad_mode(self) -> None:
        chart = self.query_one(GradChart)
        chart.mode = "time" if chart.mode == "depth" else "depth"
        self.reveal("grad-panel")
        chart.refresh()

    def action_generate(self) -> None:
        self.app.action_generate()

    def action_setup(self) -> None:
        self.app.action_setup()

    def task_panel(self) -> str:
        views = [v for v in self.state.views if v in TASK_PANELS]
        return TASK_PANELS[views[0]] if views else "text-panel"

    def draw_labelled(self) -> None:
        panel = self.task_panel()
        if panel == "classify-panel":
            self.query_one("#classify-accuracy", AccuracyChart).refresh()
            self.query_one(ConfusionView).show(self.state)
            self.query_one(ExampleStream).show(self.state)
        elif panel == "tag-panel":
            self.query_one("#tag-accuracy", AccuracyChart).refresh()
            self.query_one(TaggedSentence).show(self.state)
        elif panel == "seq2seq-panel":
            self.query_one("#seq2seq-accuracy", AccuracyChart).refresh()
            view = self.query_one(AttentionView)
            size = view.content_size
            view.show(self.state, max(size.width, 20), max(size.height, 6))

    def action_next_pair(self) -> None:
        """a: the attention of the next held-out pair of the last evaluation."""
        self.query_one(AttentionView).pick += 1
        self.draw_labelled()

    def panels(self) -> list[str]:
        return ["loss-panel", "grad-panel", "hidden-panel", self.task_panel()]

    def action_next_view(self) -> None:
        ids = self.panels()
        self.view_index = (self.view_index + 1) % (len(ids) + 1)
        self.show_view()

    def action_forecast_view(self) -> None:
        """f: the forecast maximised; again: the four panels."""
        self.view_index = 0 if self.view_index == 4 else 4
        self.show_view()

    def show_view(self) -> None:
        if self.view_index == 0:
            self.minimize()
        else:
            self.maximize(self.query_one(f"#{self.panels()[self.view_index - 1]}"), container=False)
        self._fit_labelled()
        self.redraw(force=True)
