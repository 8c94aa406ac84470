"""The setup screen: task, corpus or CSV, cell, sizes and optimizer, with the defaults filled in.
Invalid values are refused in place (the field turns red and says why); Start is refused until
every field is valid."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen
from textual.validation import Function, Integer, Number
from textual.widgets import Button, Footer, Input, Label, Select

from rnn_tui.config import CELLS, OPTIMIZERS, TASK_DEFAULTS, TASKS, RunConfig
from rnn_tui.errors import UserError

INT_FIELDS = {  # id -> (section, key, minimum, label)
    "hidden": ("model", "hidden", 1, "hidden units"),
    "layers": ("model", "layers", 1, "layers"),
    "embed": ("model", "embed", 0, "embedding (0 = one-hot)"),
    "seq": ("train", "seq", 1, "sequence length (BPTT)"),
    "batch": ("train", "batch", 1, "batch"),
}
COMPARE_CELLS = ("rnn", "lstm", "gru")  # the "same run as …" buttons
FLOAT_FIELDS = {
    "lr": ("train", "lr", "learning rate"),
    "clip": ("train", "clip", "clip gradient norm (0=off)"),
    "time_budget": ("train", "time_budget", "time limit (s, 0=none)"),
}


# manifest kinds that hold labelled data, by the task that reads them
LABELLED_KINDS = {"classify": "labelled", "tag": "tagged"}


def known_sources(task: str) -> list[str]:
    """The built-in data a task can train on."""
    if task == "series":
        from rnn_tui.data.series import BUILTIN_SERIES

        return list(BUILTIN_SERIES)
    from rnn_tui.data.corpora import manifest

    want = LABELLED_KINDS.get(task)
    labelled = set(LABELLED_KINDS.values())
    try:
        entries = manifest()
    except UserError:  # the user's corpus manifest is broken: the built-ins still work
        entries = manifest(include_user=False)
    return [name for name, e in entries.items()
            if (e.get("kind") == want if want else e.get("kind") not in labelled)]


def corpus_ok(value: str, task: str, allow_files: bool = True, also: str = "") -> bool:
    """A built-in name or an existing file; with ``allow_files`` False, a built-in name or
    ``also`` (the corpus the app was started with) only."""
    value = value.strip()
    if not value:
        return False
    if value in known_sources(task) or (also and value == also):
        return True
    return allow_files and Path(value).expanduser().is_file()


class SetupScreen(Screen):
    BINDINGS = [Binding("escape", "app.pop_screen", "Cancel"),
                Binding("ctrl+s", "start", "Start"),
                Binding("f1", "app.help_anywhere", "Help")]  # ? types into the fields

    class Start(Message):
        def __init__(self, cfg: RunConfig, compare: bool = False):
            super().__init__()
            self.cfg = cfg
            self.compare = compare  # "same run as …": the app offers to compare the two

    def __init__(self, cfg: RunConfig, allow_files: bool = True, **kw):
        """``allow_files`` False (a confined app): no file paths typed here, built-in corpora
        only, besides the one the app was started with."""
        super().__init__(**kw)
        self.cfg = cfg
        self.allow_files = allow_files

    def compose(self) -> ComposeResult:
        c = self.cfg
        with VerticalScroll(id="setup-form"):
            yield Label("New run — the defaults are filled in; ctrl+s starts", classes="title")
            with Horizontal(classes="form-row"):
                yield Label("task", classes="form-label")
                yield Select([(t, t) for t in TASKS], value=c.data.task, allow_blank=False,
                             id="task", compact=True)
            with Horizontal(classes="form-row"):
                yield Label("corpus / file", classes="form-label")
                yield Input(c.data.corpus, id="corpus", compact=True, validators=[Function(
                    lambda v: corpus_ok(v, self.task(), self.allow_files, c.data.corpus),
                    "not a built-in name or an existing file" if self.allow_files else
                    "not a built-in name")])
            yield Label("", id="corpus-hint", classes="hint")
            with Horizontal(classes="form-row"):
                yield Label("cell", classes="form-label")
                yield Select([(x, x) for x in CELLS], value=c.model.cell, allow_blank=False,
                             id="cell", compact=True)
                yield Label("optimizer", classes="form-label")
                yield Select([(x, x) for x in OPTIMIZERS], value=c.train.optimizer,
                             allow_blank=False, id="optimizer", compact=True)
            for fid, (sec, key, lo, label) in INT_FIELDS.items():
                with Horizontal(classes="form-row"):
                    yield Label(label, classes="form-label")
                    yield Input(str(getattr(getattr(c, sec), key)), id=fid, type="integer",
                                compact=True, validators=[Integer(minimum=lo, maximum=1 << 16)])
            for fid, (sec, key, label) in FLOAT_FIELDS.items():
                with Horizontal(classes="form-row"):
                    yield Label(label, classes="form-label")
                    lo = 0.0 if fid in ("time_budget", "clip") else 1e-9
                    yield Input(str(getattr(getattr(c, sec), key)), id=fid, compact=True,
                                validators=[Number(minimum=lo)])
            yield Label("", id="setup-error", classes="error")
            with Horizontal(classes="form-row"):
                yield Button("Start", id="start", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)
            with Horizontal(classes="form-row", id="same-run-row"):
                yield Label("compare: same run as", classes="form-label")
                for cell in COMPARE_CELLS:
                    yield Button(cell, id=f"same-{cell}", compact=True)
            yield Label("starts these settings again with that cell; C then shows the runs "
                        "side by side", classes="hint")
        yield Footer()

    def on_mount(self) -> None:
        self._hint()
        self.query(Input).first().focus()  # typing goes into the first field at once

    def task(self) -> str:
        try:
            v = self.query_one("#task", Select).value
        except NoMatches:  # validators can run before the form is mounted
            return self.cfg.data.task
        return v if isinstance(v, str) else self.cfg.data.task

    def _hint(self) -> None:
        self.query_one("#corpus-hint", Label).update(
            ("a file, or by name: " if self.allow_files else "by name: ")
            + ", ".join(known_sources(self.task())))

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "task":
            self._hint()
            corpus = self.query_one("#corpus", Input)
            if not corpus_ok(corpus.value, self.task(), self.allow_files, self.cfg.data.corpus):
                corpus.value = known_sources(self.task())[0]
            defaults = TASK_DEFAULTS.get(self.task(), {})
            for fid, (sec, key, _lo, _label) in INT_FIELDS.items():
                if key in defaults.get(sec, {}):
                    self.query_one(f"#{fid}", Input).value = str(defaults[sec][key])
            cell = defaults.get("model", {}).get("cell")
            if cell:
                self.query_one("#cell", Select).value = cell

    def on_button_pressed(self, event: Button.Pressed) -> None:
        bid = event.button.id or ""
        if bid == "start":
            self.action_start()
        elif bid.startswith("same-"):
            self.action_start(cell=bid.removeprefix("same-"))
        else:
            self.app.pop_screen()

    def collect(self) -> RunConfig:
        """The form as a validated config; raises UserError naming the first bad field."""
        for inp in self.query(Input):
            res = inp.validate(inp.value)
            if res is not None and not res.is_valid:
                inp.focus()
                raise UserError(f"{inp.id}: {'; '.join(res.failure_descriptions)}")
        cfg = RunConfig.from_dict(self.cfg.to_dict())
        if self.task() != self.cfg.data.task and self.task() in TASK_DEFAULTS:
            cfg.update(TASK_DEFAULTS[self.task()])
        cfg.data.task = self.task()
        cfg.data.corpus = self.query_one("#corpus", Input).value.strip()
        cfg.model.cell = str(self.query_one("#cell", Select).value)
        cfg.train.optimizer = str(self.query_one("#optimizer", Select).value)
        for fid, (sec, key, _lo, _label) in INT_FIELDS.items():
            setattr(getattr(cfg, sec), key, int(self.query_one(f"#{fid}", Input).value))
        for fid, (sec, key, _label) in FLOAT_FIELDS.items():
            setattr(getattr(cfg, sec), key, float(self.query_one(f"#{fid}", Input).value))
        return cfg.validate()

    def action_start(self, cell: str | None = None) -> None:
        """Start the form's run; with ``cell``, the same run with that cell instead."""
        err = self.query_one("#setup-error", Label)
        try:
            cfg = self.collect()
        except UserError as e:
            err.update(str(e))
            return
        err.update("")
        if cell is not None:
            cfg.model.cell = cell
        self.post_message(self.Start(cfg, compare=cell is not None))
