"""Pure parts of the local tenant: answers, filename/path rules, Go formatting, options, proxy normalisation."""
from __future__ import annotations

import json

import pytest

from fixtures.agent.answers import answer
from fixtures.agent.files import check_platform_path, parse_multipart, sanitize_filename
from fixtures.tenant.golog import go_duration, go_seconds
from fixtures.tenant.options import OptionsError, parse_options
from fixtures.tenant.proxy import normalise


@pytest.mark.parametrize("prompt, reply", [
    ("Reply with exactly: PONG", "PONG"),
    ("This is the platform smoke test verifying agent wiring. No tools or memory are needed — please respond with "
     "exactly the single token: CHILD_PONG", "CHILD_PONG"),
    ("Reply with exactly the word PINEAPPLE and nothing else.", "PINEAPPLE"),
    ("Reply with exactly: ok", "ok"),
    ("What is 2 + 3 * 4?", "14"),
    ("compute (10 - 4) / 4", "1.5"),
])
def test_deterministic_answers(prompt, reply):
    assert answer(prompt) == reply


def test_non_arithmetic_numbers_fall_back():
    assert "deterministic" in answer("hello 2026")


@pytest.mark.parametrize("name, stored", [("e2e smoke.png", "e2e_smoke.png"), ("../../etc/passwd", "passwd"),
                                          ("..", "file"), ("", "file"), ("a$b.png", "a_b.png"),
                                          ("x" * 120 + ".png", "x" * 96 + ".png")])
def test_upload_filename_rule(name, stored):
    assert sanitize_filename(name) == stored


@pytest.mark.parametrize("path, problem", [(None, "path query required"), ("rel", "path must be absolute"),
                                           ("/tmp/x", "path must be under /configs, /workspace, /home, or /plugins"),
                                           ("/workspace/a/../b", "invalid path"), ("/workspace//a", "invalid path"),
                                           ("/workspace/.molecule/chat-uploads/x.png", None)])
def test_download_path_rule(path, problem):
    assert check_platform_path(path) == problem


def test_multipart_parsing_keeps_bytes_exact():
    data = bytes(range(256))
    body = (b"--BND\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.bin\"\r\n"
            b"Content-Type: application/octet-stream\r\n\r\n" + data + b"\r\n--BND--\r\n")
    [part] = parse_multipart("multipart/form-data; boundary=BND", body)
    assert (part.field, part.filename, part.data) == ("files", "a.bin", data)
    with pytest.raises(ValueError):
        parse_multipart("application/json", b"{}")


def test_go_formatting():
    assert go_duration(0.178349067) == "178.349067ms" and go_duration(5.210616) == "5.210616s"
    assert go_duration(0.000465912) == "465.912µs" and go_seconds(60) == "1m0s" and go_seconds(15) == "15s"


def test_options():
    assert parse_options([]).check_mode == "fixed"
    opts = parse_options(["--fault", "destructive-restart", "--fault", "llm-401@hermes"])
    assert opts.check_mode == "legacy"
    assert opts.workspace_faults("E2E Parent", "hermes") == {"destructive-restart", "llm-401"}
    assert opts.workspace_faults("E2E Parent", "claude-code") == {"destructive-restart"}
    assert parse_options(["--fault", "destructive-restart", "--check-mode", "fixed"]).check_mode == "fixed"
    with pytest.raises(OptionsError):
        parse_options(["--fault", "deploy-lag@hermes"])


def test_proxy_normalisation():
    payload, message_id = normalise(json.dumps({"method": "message/send", "params": {"message": {"parts": []}}}).encode())
    assert payload["jsonrpc"] == "2.0" and payload["id"] and payload["params"]["message"]["messageId"] == message_id
    kept, mid = normalise(b'{"jsonrpc":"2.0","id":"x","method":"m","params":{"message":{"messageId":"e2e-1"}}}')
    assert kept["id"] == "x" and mid == "e2e-1"
    assert normalise(b"{nope") is None and normalise(b"[1]") is None
