"""``rnn-tui sweep``: connect to Ray (a local instance, or a cluster at ``--address``), warm the
kernel cache on every node, hand the trials to Ray Tune, and keep ``sweep.json`` and the live
table up to date.

- **Local** (the default): ``ray.init`` starts a private Ray instance with one CPU per core;
  each trial asks for one CPU and trains with one BLAS thread, so there is one trial per core.
- **A cluster**: ``--address HOST:PORT`` (or ``RAY_ADDRESS``) joins one started with
  ``ray start --head``. Since Ray 2.60 such a head turns token authentication on when a token
  exists (``~/.ray/auth_token``), and a driver that names the address must then set
  ``RAY_AUTH_MODE=token`` and hold the same token (in ``~/.ray/auth_token``,
  ``RAY_AUTH_TOKEN_PATH`` or ``RAY_AUTH_TOKEN``). :func:`prepare_auth` does that when it finds a
  token, says so when it finds none, and a refused connection becomes one line naming the fix.
- **Where results go**: Ray's ``storage_path`` is the sweep's folder (``RUNS/NAME/ray`` holds
  Tune's own records); each trial writes its run directory straight into ``RUNS/NAME/`` when its
  node sees that folder (same machine, or a shared file system mounted at the same path). On a
  node that does not, the run directory goes into the trial's folder, which Ray syncs to
  ``storage_path`` (``--storage-path``: a shared path or a URI such as ``s3://…``).
- **Scheduling**: ASHA (``--scheduler asha``, the default) compares the trials' validation
  losses at each evaluation and stops those far behind; ``--scheduler none`` runs every trial to
  its end. A trial that fails (or whose process dies) is marked failed with its error; the
  others go on. Ctrl-C stops every running trial with a checkpoint (a second Ctrl-C abandons
  them) and starts no new ones.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from rnn_tui.errors import UserError, visible
from rnn_tui.sweep.record import SweepRecord
from rnn_tui.sweep.spec import SweepSpec, Trial, spec_from_args

EXTRA = 'pip install "rnn-tui[sweep]"'
TOKEN_HELP = ("copy ~/.ray/auth_token from the head node to this machine (or set "
              "RAY_AUTH_TOKEN_PATH, or RAY_AUTH_TOKEN to its contents)")


def require_ray(load: bool = True):
    """Ray Tune, or one line naming the extra that brings it. ``load=False`` only checks that
    it is installed (Ray reads its authentication settings when it is first imported)."""
    import importlib.util

    try:
        found = importlib.util.find_spec("ray") is not None and \
            importlib.util.find_spec("ray.tune") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise UserError(f"`rnn-tui sweep` runs its trials on Ray Tune, which is not installed; "
                        f"install the extra: {EXTRA}")
    if not load:
        return None
    import ray
    import ray.tune  # noqa: F401

    return ray


# ---------------------------------------------------------------------- connecting
def find_token() -> str | None:
    """Where a Ray auth token is, if anywhere: RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or
    ~/.ray/auth_token."""
    if os.environ.get("RAY_AUTH_TOKEN", "").strip():
        return "RAY_AUTH_TOKEN"
    for p in (os.environ.get("RAY_AUTH_TOKEN_PATH"), str(Path.home() / ".ray" / "auth_token")):
        if p and Path(p).is_file() and Path(p).read_text(errors="replace").strip():
            return p
    return None


def prepare_auth(address: str) -> str | None:
    """Before joining a cluster at an explicit address: turn token authentication on when a
    token is at hand (Ray only does that by itself for ``address="auto"``). Returns a warning
    when no token is found (a cluster without authentication still accepts us)."""
    mode = os.environ.get("RAY_AUTH_MODE")
    if mode:  # the user chose; respect it
        return None
    where = find_token()
    if where is None:
        return (f"no Ray auth token found (RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH, "
                f"~/.ray/auth_token); if the cluster at {address} uses token authentication "
                f"(`ray start --head` turns it on when the head has a token), {TOKEN_HELP}")
    os.environ["RAY_AUTH_MODE"] = "token"
    if "ray" in sys.modules:  # already imported: make it read the mode again
        try:
            from ray._raylet import Config

            Config.initialize("")
        except Exception:  # noqa: BLE001 - best effort; the order in run_sweep avoids it
            pass
    return None


def runtime_env() -> dict[str, Any]:
    """What every trial and warm-up task gets: this rnn_tui's source on PYTHONPATH, so the
    workers run the same code as this command (on another machine a missing path is simply
    skipped and its installed rnn-tui is used; ``provenance.package`` in each ``run_started``
    says which)."""
    import rnn_tui

    src = str(Path(rnn_tui.__file__).resolve().parent.parent)
    paths = [src] + [str(Path(p).resolve()) for p in
                     os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env = {"PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}
    for k in ("NUMBA_CACHE_DIR", "RNN_TUI_BLAS", "XDG_CACHE_HOME"):
        if os.environ.get(k):
            env[k] = os.environ[k]
    return {"env_vars": env}


def connect(address: str | None) -> dict[str, Any]:
    """Start or join Ray; return what ``sweep.json`` records about it."""
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # Tune's own tables: off (verbose=0)
    warning = prepare_auth(address) if address is not None else None
    ray = require_ray()  # imported after RAY_AUTH_MODE is settled
    common = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    # a failed trial is reported by the sweep itself (table, sweep.json): not Tune's traces
    logging.getLogger("ray").setLevel(logging.ERROR)
    for name in ("ray.tune", "ray.train", "ray.air"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    if address is None:
        # a local Ray's workers inherit this environment: no runtime_env, so the workers Ray
        # starts with it are used (a runtime_env would start a second set)
        os.environ.update(runtime_env()["env_vars"])
        ray.init(address="local", num_cpus=os.cpu_count() or 1, **common)
        where = "local"
    else:
        _probe(address)
        if warning:
            print(f"rnn-tui: note: {visible(warning)}", file=sys.stderr)
        with _captured_stderr() as captured:  # Ray's C++ client retries, loudly, for ~20 s
            try:
                ray.init(address=address, runtime_env=runtime_env(), **common)
                err = None
            except Exception as e:  # noqa: BLE001 - Ray raises many kinds here
                err = e
        if err is not None:
            text = f"{type(err).__name__}: {err}\n{captured.text()}"
            if "InvalidAuthToken" in text or "Unauthenticated" in text or \
                    "AuthenticationError" in text:
                have = "the token here is not the cluster's" if warning is None else \
                    "no token was found here"
                raise UserError(f"the Ray cluster at {address} refused the connection: it uses "
                                f"token authentication and {have}; {TOKEN_HELP}") from None
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise UserError(f"cannot join a Ray cluster at {address} ({first}); start one "
                            "with `ray start --head --port PORT`, or leave out --address to "
                            "run on this machine") from None
        where = address
    nodes = alive_nodes()
    cpus = int(sum(n["Resources"].get("CPU", 0) for n in nodes))
    return {"engine": "ray", "address": where, "ray": ray.__version__, "nodes": len(nodes),
            "cpus": cpus}


def _probe(address: str) -> None:
    """A quick TCP look at HOST:PORT first: Ray's own client waits a long time for a port where
    nothing listens."""
    import socket

    host, _, port = address.rpartition(":")
    if address.startswith(("ray://", "http")) or not port.isdigit():
        return
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=10).close()
    except OSError as err:
        raise UserError(f"nothing answers at {address} ({err.strerror or err}); start a Ray head "
                        "there with `ray start --head --port PORT`, or leave out --address to "
                        "run on this machine") from None


class _captured_stderr:
    """File descriptor 2 into a temporary file for a while (Ray's C++ side writes there
    directly), readable afterwards."""

    def __enter__(self):
        import tempfile

        sys.stderr.flush()
        self._file = tempfile.TemporaryFile()
        self._saved = os.dup(2)
        os.dup2(self._file.fileno(), 2)
        return self

    def __exit__(self, *exc):
        sys.stderr.flush()
        os.dup2(self._saved, 2)
        os.close(self._saved)
        return False

    def text(self) -> str:
        self._file.seek(0)
        return self._file.read().decode("utf-8", "replace")


def alive_nodes() -> list[dict[str, Any]]:
    import ray

    return [n for n in ray.nodes() if n.get("Alive") and n["Resources"].get("CPU", 0) >= 1]


def warm_nodes(configs: list[dict[str, Any]], say) -> list[dict[str, Any]]:
    """One warm-up task pinned to each node, all at once, before any trial starts."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from rnn_tui.sweep.warm import warm_configs, warm_up

    todo = warm_configs(configs)
    task = ray.remote(num_cpus=1)(warm_up)
    refs = [task.options(scheduling_strategy=NodeAffinitySchedulingStrategy(
        n["NodeID"], soft=False)).remote(todo) for n in alive_nodes()]
    say(f"warming the kernel cache on {len(refs)} node{'s' if len(refs) != 1 else ''} "
        f"({len(todo)} kind{'s' if len(todo) != 1 else ''} of model)…")
    t0 = time.perf_counter()
    try:
        out = ray.get(refs)
    except ray.exceptions.RayError as err:
        cause = getattr(err, "cause", None) or err
        first = str(cause).strip().splitlines()[-1] if str(cause).strip() else repr(cause)
        raise UserError(f"warming up the kernels on a node failed: {first}") from None
    say(f"kernels ready in {time.perf_counter() - t0:.1f}s")
    return out


# ---------------------------------------------------------------------- the sweep
def check_data(trials: list[Trial]) -> None:
    """Read each distinct data set once, so a missing corpus or an impossible batch is one
    line and exit 2 before Ray starts or anything is written."""
    from rnn_tui.config import RunConfig
    from rnn_tui.session import build_task

    seen = set()
    for t in trials:
        c = t.config
        key = repr((c["data"], c["train"]["seq"], c["train"]["batch"]))
        if key in seen:
            continue
        seen.add(key)
        cfg = RunConfig.from_dict(c, "sweep trial")
        cfg.model.hidden, cfg.model.layers = min(cfg.model.hidden, 8), 1
        try:
            build_task(cfg)
        except UserError as err:
            raise UserError(f"trial {t.name}: {err}") from None


class Interrupt:
    """Ctrl-C: the first asks every trial to stop with a checkpoint, the second abandons
    them."""

    def __init__(self):
        self.requested = threading.Event()
        self._old = None

    def install(self) -> None:
        os.environ["TUNE_DISABLE_SIGINT_HANDLER"] = "1"
        self._old = signal.signal(signal.SIGINT, self._handler)

    def restore(self) -> None:
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)

    def _handler(self, signum, frame):
        if self.requested.is_set():
            raise KeyboardInterrupt
        self.requested.set()
        print("\nrnn-tui: stopping the sweep: each running trial saves a checkpoint "
              "(Ctrl-C again to abandon them)", file=sys.stderr, flush=True)


def run_sweep(args) -> int:
    require_ray(load=False)
    spec: SweepSpec = spec_from_args(args)
    name = args.name or time.strftime("sweep-%Y%m%d-%H%M%S")
    import re

    if not re.fullmatch(r"[\w.-]+", name):
        raise UserError(f"sweep name {name!r} may only use letters, digits, '.', '_' and '-'")
    if (Path(args.runs_dir) / name).exists():
        raise UserError(f"{Path(args.runs_dir) / name} already exists; pick another --name")
    trials = spec.trials()
    check_data(trials)
    from rnn_tui.train.runs import make_run_dir

    address = spec.option("address") or os.environ.get("RAY_ADDRESS") or None
    if address in ("local",):
        address = None
    info = connect(address)  # nothing is written before Ray is there
    import ray
    interrupt = Interrupt()
    record = summary = None
    try:
        sweep_dir = make_run_dir(args.runs_dir, name, "sweep")
        from rnn_tui.sweep.summary import Summary

        summary = Summary(sweep_dir, spec, trials)
        engine: dict[str, Any] = {"engine": "ray", "address": address or "local",
                                  "scheduler": spec.option("scheduler", "asha"),
                                  "samples": int(spec.option("samples", 1)),
                                  "sweep_seed": int(spec.option("sweep_seed", 0))}
        record = SweepRecord.create(sweep_dir, spec, trials, engine)
        summary.record = record
        record.set(**info)
        summary.say(f"sweep {sweep_dir}: {len(trials)} trial{'s' if len(trials) != 1 else ''} "
                    f"on Ray {info['ray']} ({info['address']}, {info['nodes']} "
                    f"node{'s' if info['nodes'] != 1 else ''}, {info['cpus']} CPUs)")
        record.set(status="warming up")
        record.save()
        warm_nodes([t.config for t in trials], summary.say)
        record.set(status="running")
        record.save()
        interrupt.install()
        _fit(spec, trials, sweep_dir, record, summary, interrupt)
    except KeyboardInterrupt:
        if summary is not None:
            summary.stop()
        if record is not None:
            record.set(status="abandoned")
            _finish_statuses(record, "interrupted")
            record.save()
        print("rnn-tui: sweep abandoned; trials keep their last periodic checkpoints",
              file=sys.stderr)
        return 130
    except BaseException:
        if record is not None:
            record.set(status="failed")
            record.save()
        raise
    finally:
        interrupt.restore()
        if summary is not None:
            summary.stop()
        if ray.is_initialized():
            ray.shutdown()
    status = "interrupted" if interrupt.requested.is_set() else "finished"
    _finish_statuses(record, "not started")
    for t in record.trials:
        reconcile(record, t)
    best = _best(record)
    record.set(status=status, best=best, ended=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    record.save()
    summary.final(record)
    failed = [t for t in record.trials if t["status"] == "failed"]
    if failed:
        print(f"rnn-tui: {len(failed)} of {len(record.trials)} trials failed; their errors are "
              f"above and in {record.path}", file=sys.stderr)
    if best is None:
        print("best=none val_loss=nan")
        return 130 if status == "interrupted" else 1
    print(f"best={visible(best['dir'])} val_loss={best['val_loss']:.6f}")
    return 130 if status == "interrupted" else 0


def _finish_statuses(record: SweepRecord, pending_as: str) -> None:
    for t in record.trials:
        if t["status"] == "pending":
            record.update(t["name"], status="not started")
        elif t["status"] == "running":
            record.update(t["name"], status=pending_as)


OWN_ENDS = ("done", "time budget", "early stopping")  # a trainer's reasons to end by itself


def reconcile(record: SweepRecord, t: dict[str, Any]) -> None:
    """A trial's final numbers from its own metrics.jsonl, where this machine can read it:
    Tune saw only the evaluations it was sent before the trial stopped, the run directory has
    all of them (a trial stopped by the scheduler still evaluates and saves once more)."""
    from rnn_tui.train.runs import MetricsReader

    path = Path(t.get("run_dir") or "") / "metrics.jsonl"
    if not t.get("run_dir") or not path.is_file():
        return
    rates, fields = [], {}
    for e in MetricsReader(path).poll():
        if e.type == "step":
            rates.append(e.tokens_per_s)
            fields["step"] = e.step
        elif e.type == "eval":
            fields.update(step=max(fields.get("step", 0), e.step), last_val_loss=e.val_loss,
                          best_val_loss=e.best_val_loss)
        elif e.type == "finished" and t["status"] != "failed":
            fields.update(step=e.step, reason=e.reason)
            if e.best_val_loss is not None:
                fields["best_val_loss"] = e.best_val_loss
            if e.reason in OWN_ENDS:  # it ran out of time or steps before Tune's stop came
                fields["status"] = "finished"
    if rates:
        fields["tokens_per_s"] = sorted(rates)[len(rates) // 2]
    record.update(t["name"], **fields)


def _best(record: SweepRecord) -> dict[str, Any] | None:
    ranked = [t for t in record.ranked()
              if t.get("best_val_loss") is not None and t["status"] != "failed"]
    if not ranked:
        return None
    t = ranked[0]
    return {"name": t["name"], "dir": t["run_dir"], "val_loss": t["best_val_loss"]}


def _fit(spec: SweepSpec, trials: list[Trial], sweep_dir: Path, record: SweepRecord, summary,
         interrupt: Interrupt):
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

    from rnn_tui.sweep.trial import RunTrial
    payloads = [{"name": t.name, "config": t.config, "sweep_dir": str(sweep_dir.resolve()),
                 "sweep_id": record.data["id"]} for t in trials]
    for t in trials:
        record.update(t.name, run_dir=str(sweep_dir / t.name))
    if spec.option("scheduler", "asha") == "asha":
        scheduler = ASHAScheduler(time_attr="training_iteration", metric="val_loss", mode="min",
                                  max_t=1_000_000, grace_period=int(spec.option("grace_period", 2)),
                                  reduction_factor=3)
    else:
        scheduler = FIFOScheduler()
    callback = _callback(record, summary, interrupt)
    storage = spec.option("storage_path") or str(sweep_dir.resolve())
    tuner = tune.Tuner(
        tune.with_resources(RunTrial, {"cpu": 1}),
        param_space={"trial": tune.grid_search(payloads)},
        tune_config=tune.TuneConfig(
            scheduler=scheduler, num_samples=1, reuse_actors=False,
            max_concurrent_trials=spec.option("max_concurrent"),
            trial_name_creator=lambda tr: tr.config["trial"]["name"],
            trial_dirname_creator=lambda tr: tr.config["trial"]["name"]),
        run_config=tune.RunConfig(
            name="ray", storage_path=storage, verbose=0, callbacks=[callback],
            stop=_stopper(),
            failure_config=tune.FailureConfig(max_failures=0),
            # the run directories hold the checkpoints; Tune keeps none of its own
            checkpoint_config=tune.CheckpointConfig(checkpoint_frequency=0,
                                                    checkpoint_at_end=False),
            sync_config=tune.SyncConfig(sync_artifacts=True)))
    _ACTIVE.update(interrupt=interrupt, sweep_id=record.data["id"], tracker=callback,
                   flag=None)
    summary.start()
    try:
        return tuner.fit()
    finally:
        summary.stop()
        _ACTIVE.clear()


# The sweep running in this process. Tune copies the stopper it is given, so the stopper reads
# the state from here rather than from its own attributes.
_ACTIVE: dict[str, Any] = {}


def _stopper():
    from ray import tune

    class SweepStopper(_Stopper, tune.Stopper):
        pass

    return SweepStopper()


class _Stopper:
    """Tune asks before each step whether to stop everything: once Ctrl-C was pressed, raise
    the stop flag the trials look for (:func:`~rnn_tui.sweep.trial.request_stop`) and end the
    experiment once no trial is running (each stops by itself, with a checkpoint)."""

    def __call__(self, trial_id: str, result: dict) -> bool:
        return False

    def stop_all(self) -> bool:
        interrupt = _ACTIVE.get("interrupt")
        if interrupt is None or not interrupt.requested.is_set():
            return False
        if _ACTIVE.get("flag") is None:
            from rnn_tui.sweep.trial import request_stop

            _ACTIVE["flag"] = request_stop(_ACTIVE["sweep_id"])
        return _ACTIVE["tracker"].running == 0


def _callback(record: SweepRecord, summary, interrupt: Interrupt):
    """A Tune callback (Ray is imported only here): Tune's view of the trials -> sweep.json
    and the live table."""
    from ray import tune

    class SweepCallback(_Tracker, tune.Callback):
        pass

    return SweepCallback(record, summary, interrupt)


class _Tracker:
    def __init__(self, record: SweepRecord, summary, interrupt: Interrupt):
        self.record = record
        self.summary = summary
        self.interrupt = interrupt
        self.running = 0
        self._last_save = 0.0

    def __getstate__(self):  # Tune pickles its settings for a restore; this lives here only
        return {}

    def _save(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last_save > 1.0:
            self._last_save = now
            self.record.save()

    def on_trial_start(self, iteration, trials, trial, **info):
        name = trial.config["trial"]["name"]
        self.running += 1
        self.record.update(name, status="running", trial_id=trial.trial_id)
        self.summary.event(name, "started")
        self._save(force=True)

    def on_trial_result(self, iteration, trials, trial, result, **info):
        name = trial.config["trial"]["name"]
        if result.get("not_started"):
            return
        fields = {"step": result.get("step"), "node": result.get("hostname"),
                  "tokens_per_s": result.get("tokens_per_s")}
        if result.get("run_dir"):
            fields["run_dir"] = result["run_dir"]
        if result.get("val_loss") is not None:
            fields["last_val_loss"] = result["val_loss"]
        if result.get("best_val_loss") is not None:
            fields["best_val_loss"] = result["best_val_loss"]
        self.record.update(name, **{k: v for k, v in fields.items() if v is not None})
        self._save()

    def on_trial_complete(self, iteration, trials, trial, **info):
        name = trial.config["trial"]["name"]
        self.running = max(0, self.running - 1)
        last = trial.last_result or {}
        if last.get("not_started"):
            status, reason = "not started", None
        elif last.get("reason"):  # the trial's own last result: it ended by itself
            reason = last["reason"]
            status = "interrupted" if reason == "interrupted" else "finished"
        else:  # Tune stopped it after an evaluation: the scheduler, or Ctrl-C
            status = "interrupted" if self.interrupt.requested.is_set() else "stopped"
            reason = "interrupted" if status == "interrupted" else \
                "early stopping (scheduler: validation loss behind the others)"
        self.record.update(name, status=status, reason=reason)
        self.summary.event(name, status, reason)
        self._save(force=True)

    def on_trial_error(self, iteration, trials, trial, **info):
        name = trial.config["trial"]["name"]
        self.running = max(0, self.running - 1)
        error = _error_summary(trial)
        self.record.update(name, status="failed", error=error)
        self.summary.event(name, "failed", error)
        self._save(force=True)


def _error_summary(trial) -> str:
    """The last ``SomeError: message`` line of a trial's error (the trace is in Ray's
    folder)."""
    text = ""
    try:  # written by Tune on this machine just before it tells the callbacks
        text = Path(trial.error_file).read_text(errors="replace") if trial.error_file else ""
    except OSError:
        pass
    if not text:
        try:
            text = trial.get_error() or ""
        except Exception:  # noqa: BLE001
            pass
    if not text:
        return "failed (no error text; see the trial's folder under ray/)"
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    for ln in reversed(lines):
        head = ln.split(":", 1)[0]
        if head.endswith(("Error", "Exception", "Interrupt", "Exit")) and " " not in head:
            msg = ln
            break
    else:
        msg = lines[-1] if lines else "failed"
    if "died" in text and ("Actor" in text or "worker process" in text):
        import re

        kind = re.search(r"Worker exit type: (\w+)", text)
        msg = ("the trial's process died (killed, out of memory, or crashed)" +
               (f"; Ray: worker exit {kind.group(1)}" if kind else ""))
    return msg[:800]
