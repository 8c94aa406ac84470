"""Corpora: built-ins, user files and every way a file can be unusable; the fetch, mocked."""

from __future__ import annotations

import hashlib
import io
import urllib.error

import pytest

from rnn_tui.data import corpora
from rnn_tui.data.corpora import fetch, list_corpora, load_corpus, read_text_file
from rnn_tui.errors import UserError


@pytest.fixture(autouse=True)
def user_dir(tmp_path, monkeypatch):
    """The user's corpus folder: the test's own, empty."""
    monkeypatch.setenv("RNN_TUI_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data" / "corpora"


def test_builtin_pydoc_and_stdlib_and_shipped():
    pydoc = load_corpus("pydoc")
    assert len(pydoc.text) > 100_000 and "the" in pydoc.text
    std = load_corpus("stdlib")
    assert "def " in std.text and len(std.text) > 500_000
    arith = load_corpus("arithmetic")
    assert " plus " in arith.text and " = " in arith.text
    names = {c.name for c in list_corpora()}
    assert {"pydoc", "stdlib", "arithmetic", "shakespeare"} <= names


def test_user_file_and_crlf(tmp_path):
    p = tmp_path / "a.txt"
    p.write_bytes(b"hello\r\nworld\r\n")
    assert load_corpus(str(p)).text == "hello\nworld\n"


@pytest.mark.parametrize("content,match", [
    (None, "not found"),
    ("DIR", "directory"),
    (b"", "empty"),
    (b"   \n\n", "empty"),
    (b"\x00\x01\x02binary\x00", "binary"),
    ("caf\xe9 au lait".encode("latin-1"), "--encoding latin-1"),
])
def test_unusable_files(tmp_path, content, match):
    p = tmp_path / "f.txt"
    if content == "DIR":
        p.mkdir()
    elif content is not None:
        p.write_bytes(content)
    with pytest.raises(UserError, match=match):
        load_corpus(str(p))


def test_encoding_option_reads_latin1(tmp_path):
    p = tmp_path / "l1.txt"
    p.write_bytes("caf\xe9".encode("latin-1"))
    assert read_text_file(p, "latin-1") == "café"
    with pytest.raises(UserError, match="unknown encoding"):
        read_text_file(p, "klingon-8")


def test_unknown_name_suggests():
    with pytest.raises(UserError, match="did you mean pydoc"):
        load_corpus("pydocs")


class FakeResponse(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def test_fetch_checks_and_caches(tmp_path, monkeypatch):
    monkeypatch.setattr(corpora, "data_dir", lambda: tmp_path)
    data = b"To be, or not to be\n"
    good = hashlib.sha256(data).hexdigest()
    calls = []

    def opener(url, timeout):
        calls.append(url)
        return FakeResponse(data)

    p = fetch("http://example.invalid/x", good, "x.txt", opener=opener)
    assert p.read_bytes() == data
    fetch("http://example.invalid/x", good, "x.txt", opener=opener)
    assert len(calls) == 1  # second time from the cached copy
    with pytest.raises(UserError, match="checksum"):
        fetch("http://example.invalid/y", "0" * 64, "y.txt", opener=opener)
    assert not (tmp_path / "y.txt").exists()

    def offline(url, timeout):
        raise urllib.error.URLError("no network")

    with pytest.raises(UserError, match="download it by hand"):
        fetch("http://example.invalid/z", good, "z.txt", opener=offline)


def test_builtins_are_read_from_the_package():
    from importlib.resources import files

    root = files("rnn_tui.corpora")
    assert (root / "manifest.toml").is_file()
    entry = corpora.manifest()["arithmetic"]
    assert entry["origin"] == "built-in" and entry["path"] == root / "arithmetic.txt"
    assert load_corpus("arithmetic").text == (root / "arithmetic.txt").read_text(encoding="utf-8")


def test_user_folder_adds_corpora(user_dir):
    assert corpora.data_dir() == user_dir
    user_dir.mkdir(parents=True)
    (user_dir / "poems.txt").write_text("roses are red\r\n", encoding="utf-8")
    (user_dir / "arithmetic.txt").write_text("mine, not the built-in\n")  # replaces it
    (user_dir / "tinyshakespeare.txt").write_text("a download\n")  # shakespeare's, not a corpus
    (user_dir / "novel-2024-v3.txt").write_text("It was a dark night.\n")
    (user_dir / "notes.md").write_text("not a .txt: not a corpus\n")
    (user_dir / "manifest.toml").write_text(
        '[corpus.novel]\nkind = "file"\nfile = "novel-2024-v3.txt"\ndescription = "my novel"\n'
        '[corpus.docs]\nkind = "pydoc"\ndescription = "the docs again"\n')
    names = {c.name: c for c in list_corpora()}
    assert {"pydoc", "stdlib", "shakespeare", "poems", "arithmetic", "novel", "docs", "sentiment",
            "pos", "pos-toy", "sample-text", "eng-fra"} == set(names)
    assert names["poems"].origin == "user" and names["poems"].size == len("roses are red\n")
    assert names["novel"].description == "my novel"
    assert names["pydoc"].origin == "built-in" and names["shakespeare"].origin == "built-in"
    assert load_corpus("poems").text == "roses are red\n"
    assert load_corpus("arithmetic").text == "mine, not the built-in\n"
    assert load_corpus("novel").text.startswith("It was")
    assert load_corpus("docs").text == load_corpus("pydoc").text
    with pytest.raises(UserError, match="did you mean poems"):
        load_corpus("poem")


@pytest.mark.parametrize("text,match", [
    ("[corpus.x\n", "is not valid TOML"),
    ('[corpus.x]\nkind = "ftp"\n', r"\[corpus.x\] has kind 'ftp', not one of"),
    ('[corpus.x]\nkind = "url"\nurl = "http://example.invalid/x"\n', "needs sha256, file"),
    ("corpus = 3\n", "must be a table"),
])
def test_a_broken_user_manifest_says_what_to_fix(user_dir, text, match):
    user_dir.mkdir(parents=True)
    (user_dir / "manifest.toml").write_text(text)
    with pytest.raises(UserError, match=match) as err:
        load_corpus("pydoc")
    assert str(user_dir / "manifest.toml") in str(err.value)
    assert "\n" not in str(err.value)
    assert "pydoc" in corpora.manifest(include_user=False)  # the built-ins still work


def test_corpora_command_says_where_the_user_folders_are(user_dir, capsys, monkeypatch):
    from rnn_tui.cli import main

    monkeypatch.setenv("RNN_TUI_CONFIG_DIR", str(user_dir.parent / "config"))
    monkeypatch.setenv("COLUMNS", "200")
    user_dir.mkdir(parents=True)
    (user_dir / "poems.txt").write_text("roses are red\n")
    assert main(["corpora"]) == 0
    out = capsys.readouterr().out
    rows = {line.split("│")[1].strip(): line.split("│")[3].strip()
            for line in out.splitlines() if line.startswith("│") and line.split("│")[1].strip()}
    assert rows["arithmetic"] == "built-in" and rows["poems"] == "yours"
    assert f"every *.txt in {user_dir}" in out
    assert f"your themes: *.toml files in {user_dir.parent / 'config' / 'themes'}" in out
