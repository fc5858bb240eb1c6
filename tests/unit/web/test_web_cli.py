"""`ivr users add|list|remove` and `ivr web serve`."""

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
import redis

from ivr.cli import main
from ivr.config import REPO_DIR
from ivr.web.accounts import verify_password


@pytest.fixture
def env(redis_server, tmp_path, monkeypatch):
    monkeypatch.setenv("IVR_REDIS_URL", redis_server.url)
    monkeypatch.setenv("IVR_STATE_DIR", str(tmp_path / "state"))
    with redis.Redis.from_url(redis_server.url, decode_responses=True) as client:
        client.flushdb()
        yield client


def add(monkeypatch, name, role, password, *extra):
    monkeypatch.setattr(sys, "stdin", io.StringIO(password + "\n"))
    return main(["users", "add", name, "--role", role, "--password-stdin", *extra])


def stored_hash(client, name):
    return json.loads(client.hget("winet:web:users", name))["password_hash"]


def test_the_first_admin_from_stdin(env, monkeypatch, capsys):
    assert add(monkeypatch, "ada", "admin", "a long enough password") == 0
    assert "created admin user ada" in capsys.readouterr().out
    assert verify_password(stored_hash(env, "ada"), "a long enough password")


def test_the_password_is_asked_twice_on_a_terminal(env, monkeypatch, capsys):
    answers = iter(["a long enough password", "a long enough password"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    assert main(["users", "add", "ada", "--role", "admin"]) == 0
    answers = iter(["a long enough password", "another long password"])
    assert main(["users", "add", "bob", "--role", "desk"]) == 2
    assert "the two passwords differ" in capsys.readouterr().err
    assert env.hget("winet:web:users", "bob") is None


@pytest.mark.parametrize(
    ("name", "password", "reason"),
    [
        ("ada", "short", "at least 12 characters"),
        ("Ada Lovelace", "a long enough password", "is not a user name"),
    ],
)
def test_bad_names_and_passwords_are_refused(env, monkeypatch, capsys, name, password, reason):
    assert add(monkeypatch, name, "admin", password) == 2
    assert reason in capsys.readouterr().err
    assert env.hlen("winet:web:users") == 0


def test_an_existing_user_is_replaced_only_when_asked(env, monkeypatch, capsys):
    add(monkeypatch, "ada", "admin", "a long enough password")
    assert add(monkeypatch, "ada", "desk", "another long password") == 1
    assert "exists; --replace" in capsys.readouterr().err
    assert add(monkeypatch, "ada", "desk", "another long password", "--replace") == 0
    assert verify_password(stored_hash(env, "ada"), "another long password")


def test_list_and_remove(env, monkeypatch, capsys):
    assert main(["users", "list"]) == 0
    assert "no users: create the first admin" in capsys.readouterr().out
    add(monkeypatch, "ada", "admin", "a long enough password")
    add(monkeypatch, "dan", "desk", "a long enough password")
    capsys.readouterr()
    assert main(["users", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in lines] == [["ada", "admin"], ["dan", "desk"]]
    assert main(["users", "remove", "dan"]) == 0
    assert main(["users", "remove", "dan"]) == 1
    assert "no user 'dan'" in capsys.readouterr().err


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_web_serve_answers_on_loopback_logs_to_stderr_and_stops_on_sigterm(env, tmp_path):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "ivr", "web", "serve"],
        env={**os.environ, "IVR_WEB_PORT": str(port)},
        cwd=REPO_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=1) as page:
                    assert page.status == 200
                    break
            except OSError:
                assert process.poll() is None, process.communicate()
                assert time.monotonic() < deadline, "the console did not answer within 10 s"
                time.sleep(0.1)
        os.kill(process.pid, signal.SIGTERM)
        out, err = process.communicate(timeout=5)
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 0
    assert out == ""
    assert f"console on http://127.0.0.1:{port}/" in err
    assert '"GET /login HTTP/1.1" 200' in err
    assert "stopping" in err


def test_web_serve_says_when_the_port_is_taken(env, capsys, monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        monkeypatch.setenv("IVR_WEB_PORT", str(taken.getsockname()[1]))
        assert main(["web", "serve"]) == 1
    assert "cannot listen on 127.0.0.1:" in capsys.readouterr().err
