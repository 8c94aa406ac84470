"""Corpora: built-ins, user files and every way a file can be unusable; the fetch, mocked."""

from __future__ import annotations

import hashlib
import io
import urllib.error

import pytest

from rnn_tui.data import corpora
from rnn_tui.data.corpora import fetch, list_corpora, load_corpus, read_text_file
from rnn_tui.errors import UserError


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
