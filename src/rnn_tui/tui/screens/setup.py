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
from textual.validation import Function
from textual.widgets import Button, Footer, Input, Label, Select

from rnn_tui.config import APP_DEFAULTS, Layer, RunConfig, resolve_config
from rnn_tui.errors import UserError
from rnn_tui.options import FILE as FILE_SOURCE
from rnn_tui.options import FORM, SETTING, TASK_DEFAULTS, Source, check

# The form's fields, in order: the declared settings give each its label, type, choices, range
# and the task's default. Choices are a drop-down, numbers an input held to the setting.
CHOICE_FIELDS = ("task", "cell", "optimizer")
NUMBER_FIELDS = ("hidden", "layers", "embed", "seq", "batch", "lr", "clip", "time_budget")
COMPARE_CELLS = ("rnn", "lstm", "gru")  # the "same run as …" buttons


def field_check(key: str):
    """A validator for the field of setting ``key``: the setting's own check."""
    s = SETTING[key]

    def ok(value: str) -> bool:
        try:
            check(s, value, Source(FORM))
        except UserError:
            return False
        return True

    return Function(ok, s.allowed())


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
        self.shown_task = cfg.data.task  # the task whose defaults the form shows

    def compose(self) -> ComposeResult:
        c = self.cfg
        with VerticalScroll(id="setup-form"):
            yield Label("New run — the defaults are filled in; ctrl+s starts", classes="title")
            with Horizontal(classes="form-row"):
                yield Label("task", classes="form-label")
                yield Select([(t, t) for t in SETTING["task"].choices], value=c.data.task,
                             allow_blank=False, id="task", compact=True)
            with Horizontal(classes="form-row"):
                yield Label(SETTING["corpus"].label, classes="form-label")
                yield Input(c.data.corpus, id="corpus", compact=True, validators=[Function(
                    lambda v: corpus_ok(v, self.task(), self.allow_files, c.data.corpus),
                    "not a built-in name or an existing file" if self.allow_files else
                    "not a built-in name")])
            yield Label("", id="corpus-hint", classes="hint")
            with Horizontal(classes="form-row"):
                for key in CHOICE_FIELDS[1:]:
                    st = SETTING[key]
                    yield Label(st.label, classes="form-label")
                    yield Select([(x, x) for x in st.choices],
                                 value=getattr(getattr(c, st.section), key), allow_blank=False,
                                 id=key, compact=True)
            for key in NUMBER_FIELDS:
                st = SETTING[key]
                with Horizontal(classes="form-row"):
                    yield Label(st.label, classes="form-label")
                    yield Input(str(getattr(getattr(c, st.section), key)), id=key,
                                type="integer" if st.type is int else "text", compact=True,
                                validators=[field_check(key)])
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
        if event.select.id == "task" and self.task() != self.shown_task:
            self.shown_task = self.task()
            self._hint()
            corpus = self.query_one("#corpus", Input)
            if not corpus_ok(corpus.value, self.task(), self.allow_files, self.cfg.data.corpus):
                corpus.value = known_sources(self.task())[0]
            own = TASK_DEFAULTS.get(self.task(), {})
            for key in NUMBER_FIELDS:  # the new task's defaults (the app's where it has none)
                st = SETTING[key]
                value = own.get(st.section, {}).get(key, APP_DEFAULTS.get(st.section, {}).get(
                    key, st.default))
                self.query_one(f"#{key}", Input).value = str(value)
            for key in CHOICE_FIELDS[1:]:
                st = SETTING[key]
                if key in own.get(st.section, {}):
                    self.query_one(f"#{key}", Select).value = own[st.section][key]

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
        form: dict[str, dict] = {"data": {"task": self.task(),
                                          "corpus": self.query_one("#corpus", Input).value.strip()}}
        for key in (*CHOICE_FIELDS[1:], *NUMBER_FIELDS):
            widget = self.query_one(f"#{key}")
            value = widget.value if isinstance(widget, Input) else str(widget.value)
            form.setdefault(SETTING[key].section, {})[key] = value
        layers = [Layer(form, Source(FORM))]
        if self.task() == self.cfg.data.task:  # the same task: the rest as the app's run has it
            layers.insert(0, Layer(self.cfg.to_dict(), Source(FILE_SOURCE, "the app's run")))
        return resolve_config(layers, base=APP_DEFAULTS)

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
