"""``rnn-tui sweep`` on real Ray: a local instance, a trial killed and the sweep interrupted,
and a small cluster started here with ``ray start --head`` (token authentication on).

Each sweep runs as its own process, as a user would run it; the models are tiny so the time
goes to Ray's start-up (a few seconds) and not to training.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest

pytest.importorskip("ray", reason='the sweep needs Ray: pip install -e ".[test]" brings it')
pytestmark = pytest.mark.ray

TINY = ["--task", "char", "--corpus", "arithmetic", "--hidden", "16", "--embed", "8",
        "--batch", "4", "--seq", "16", "--eval-every", "10", "--eval-tokens", "500",
        "--sample-every", "1000", "--patience", "0"]


def sweep_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "rnn_tui.cli", "sweep", *args]


def env(**extra: str) -> dict[str, str]:
    e = dict(os.environ, RNN_TUI_CONFIG_DIR=tempfile.mkdtemp(prefix="rnn-tui-cfg-"))
    e.pop("RAY_ADDRESS", None)
    e.update(extra)
    return e


def events(run_dir: Path, kind: str) -> list[dict]:
    f = run_dir / "metrics.jsonl"
    if not f.exists():
        return []
    out = []
    for line in f.read_text().splitlines():
        try:
            d = json.loads(line)
        except json.JSONDecodeError:
            continue
        if d.get("type") == kind:
            out.append(d)
    return out


def wait_until(pred, timeout: float, proc=None, what: str = "", output=None) -> None:
    """Wait for ``pred()``; on failure say whether ``proc`` ended (and how) and show the end of
    what it wrote: ``output()`` where a reader thread collects it, else its pipes."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.3)
    ended = proc is not None and proc.poll() is not None
    if output is not None:
        text = output()
    elif ended:
        text = "".join(part or "" for part in proc.communicate())
    else:
        text = ""
    how = f"it exited with status {proc.returncode}" if ended else "timed out"
    pytest.fail(f"waiting for {what}: {how}\n{text[-3000:]}")


def check_trial(run_dir: Path) -> dict:
    """An ordinary run directory, trained on Ray; its run_started event."""
    for f in ("config.toml", "metrics.jsonl", "checkpoint.npz"):
        assert (run_dir / f).is_file(), f"{run_dir} has no {f}"
    started = events(run_dir, "run_started")[0]
    prov = started["provenance"]
    assert prov["engine"] == "ray" and prov["trial_id"] and prov["node"] and prov["node_id"]
    return started


# ---------------------------------------------------------------------------- local Ray
def test_two_trials_on_a_local_ray(tmp_path, capsys):
    runs = tmp_path / "runs"
    # both trials run to their end: ASHA (the default) would stop whichever reaches a rung
    # behind the other, which depends on the order they report in (seen once in CI's suite)
    p = subprocess.run(sweep_cmd(*TINY, "--cell", "rnn,gru", "--steps", "40",
                                 "--time-budget", "60", "--scheduler", "none",
                                 "--runs-dir", str(runs), "--name", "grid"),
                       capture_output=True, text=True, env=env(), timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    last = p.stdout.strip().splitlines()[-1]
    m = re.fullmatch(r"best=(\S+) val_loss=(\d+\.\d+)", last)
    assert m, p.stdout
    assert Path(m.group(1)).parent == runs / "grid"
    sweep = runs / "grid"
    record = json.loads((sweep / "sweep.json").read_text())
    assert record["status"] == "finished" and record["engine"] == "ray"
    assert record["address"] == "local" and record["grid"] == {"cell": ["rnn", "gru"]}
    assert {t["name"]: t["status"] for t in record["trials"]} == \
        {"rnn": "finished", "gru": "finished"}
    assert record["best"]["dir"] == m.group(1)
    for name in ("rnn", "gru"):
        started = check_trial(sweep / name)
        assert started["config"]["model"]["cell"] == name
        assert started["provenance"]["trial"] == name
        assert events(sweep / name, "finished")[0]["step"] == 40

    # the trials are ordinary runs: evaluate reads one, compare names them by their cell
    from rnn_tui.cli import main
    from rnn_tui.tui.runset import RunSet

    capsys.readouterr()
    assert main(["evaluate", str(sweep / "gru")]) == 0
    assert capsys.readouterr().out.startswith("val_loss=")
    assert sorted(r.label for r in RunSet.from_paths([sweep]).runs) == ["gru", "rnn"]
    assert main(["sweep", "--cell", "rnn", "--runs-dir", str(runs), "--name", "grid"]) == 2


def test_a_killed_trial_fails_alone_and_ctrl_c_stops_the_rest_with_checkpoints(tmp_path):
    runs = tmp_path / "runs"
    sweep = runs / "s"
    proc = subprocess.Popen(
        sweep_cmd(*TINY, "--cell", "rnn,lstm,gru", "--time-budget", "90", "--max-concurrent",
                  "2", "--scheduler", "none", "--runs-dir", str(runs), "--name", "s"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(),
        start_new_session=True)  # its own process group, as a terminal's foreground job
    try:
        def training(name):
            return bool(events(sweep / name, "run_started")) and \
                bool(events(sweep / name, "step"))

        wait_until(lambda: training("rnn") and training("lstm"), 240, proc, "two trials")
        pid = events(sweep / "rnn", "run_started")[0]["provenance"]["pid"]
        os.kill(pid, signal.SIGKILL)  # the trial's own process, not the sweep
        wait_until(lambda: training("gru"), 120, proc, "the third trial to take the free core")
        time.sleep(1.0)
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in the sweep's terminal
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, out + err
    record = json.loads((sweep / "sweep.json").read_text())
    status = {t["name"]: t for t in record["trials"]}
    assert record["status"] == "interrupted"
    assert status["rnn"]["status"] == "failed"
    assert "process died" in status["rnn"]["error"]
    assert "rnn failed: the trial's process died" in out
    for name in ("lstm", "gru"):  # stopped by Ctrl-C, each with its checkpoint
        assert status[name]["status"] == "interrupted", status[name]
        check_trial(sweep / name)
        assert events(sweep / name, "finished")[-1]["reason"] == "interrupted"
    assert re.fullmatch(r"best=\S+ val_loss=\d+\.\d+", out.strip().splitlines()[-1])


# ---------------------------------------------------------------------------- a cluster
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


def test_the_same_sweep_on_a_ray_cluster_with_token_auth(tmp_path):
    """``ray start --head`` (token authentication on), then ``sweep --address 127.0.0.1:P``:
    refused without the token, run on the cluster with it."""
    token = tmp_path / "token"
    token.write_text(uuid.uuid4().hex * 2)
    port = free_port()
    temp = tempfile.mkdtemp(prefix="rt", dir="/tmp")  # Ray's socket paths must stay short
    # The sweep connects to the cluster's GCS, not through Ray Client. Where ray[client] is
    # installed (grpcio), `ray start` opens a client server too, on port 10001 unless told
    # otherwise: a free port then, so that nothing else on the machine is in the way; without
    # it, giving the port is an error.
    client = ["--ray-client-server-port", str(free_port())] \
        if importlib.util.find_spec("grpc") is not None else []
    head = subprocess.Popen(
        [sys.executable, "-m", "ray.scripts.scripts", "start", "--head", "--port", str(port),
         *client, "--num-cpus", "2",
         "--include-dashboard=false", "--disable-usage-stats", "--temp-dir", temp, "--block"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=env(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(token)),
        start_new_session=True)
    log: list[str] = []
    threading.Thread(target=lambda: log.extend(head.stdout), daemon=True).start()
    try:
        wait_until(lambda: any("Ray runtime started" in ln for ln in log), 120, head,
                   "ray start --head", output=lambda: "".join(log))
        address = f"127.0.0.1:{port}"
        runs = tmp_path / "runs"
        args = (*TINY, "--cell", "rnn,gru", "--steps", "30", "--address", address,
                "--runs-dir", str(runs))
        home = tmp_path / "home"  # no ~/.ray/auth_token here
        home.mkdir()
        bare = env(HOME=str(home))
        for k in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
            bare.pop(k, None)
        refused = subprocess.run(  # Ray retries 20 times by default; 2 are enough here
            sweep_cmd(*args, "--name", "refused"), capture_output=True, text=True,
            env={**bare, "RAY_gcs_server_port_wait_time_s": "2"}, timeout=180)
        assert refused.returncode == 2
        errors = [ln for ln in refused.stderr.splitlines() if ln.startswith("rnn-tui: error")]
        assert len(errors) == 1 and "token authentication" in errors[0], refused.stderr
        assert "no Ray auth token found" in refused.stderr  # said before trying
        assert not (runs / "refused").exists()

        ok = subprocess.run(sweep_cmd(*args, "--name", "cluster"), capture_output=True,
                            text=True, env={**bare, "RAY_AUTH_TOKEN_PATH": str(token)},
                            timeout=300)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert re.fullmatch(r"best=\S+ val_loss=\d+\.\d+", ok.stdout.strip().splitlines()[-1])
        record = json.loads((runs / "cluster" / "sweep.json").read_text())
        assert record["address"] == address and record["nodes"] == 1 and record["cpus"] == 2
        for name in ("rnn", "gru"):
            check_trial(runs / "cluster" / name)
    finally:
        if head.poll() is None:
            os.killpg(head.pid, signal.SIGTERM)  # ray start --block stops what it started
            try:
                head.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(head.pid, signal.SIGKILL)
                head.wait()
