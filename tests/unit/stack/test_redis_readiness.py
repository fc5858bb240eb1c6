"""Redis counts as up only once it takes commands with our password: a restarted Redis
answers PING with -NOAUTH at once, and with -LOADING until its append-only file is read."""

import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.config import Settings
from ivr.stack import redis

PASSWORD = "secret:with/odd chars"


class LoadingRedis(socketserver.ThreadingTCPServer):
    """Answers like redis-server while it loads for `loading_seconds`, then like a ready one."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, loading_seconds: float) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.ready_at = time.monotonic() + loading_seconds
        self.auth_requests: list[bytes] = []


class _Handler(socketserver.StreamRequestHandler):
    server: LoadingRedis

    def handle(self) -> None:
        authenticated = False
        while line := self.rfile.readline():
            if line.startswith(b"*"):
                words = [self._bulk() for _ in range(int(line[1:]))]
                self.server.auth_requests.append(b" ".join(words))
                authenticated = words == [b"AUTH", PASSWORD.encode()]
                self.wfile.write(b"+OK\r\n" if authenticated else b"-WRONGPASS\r\n")
            elif not authenticated:
                self.wfile.write(b"-NOAUTH Authentication required.\r\n")
            elif time.monotonic() < self.server.ready_at:
                self.wfile.write(b"-LOADING Redis is loading the dataset in memory\r\n")
            else:
                self.wfile.write(b"+PONG\r\n")

    def _bulk(self) -> bytes:
        length = int(self.rfile.readline()[1:])
        return self.rfile.read(length + 2)[:-2]


@pytest.fixture
def loading_redis() -> Iterator[LoadingRedis]:
    server = LoadingRedis(loading_seconds=0.6)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _settings(server: LoadingRedis, tmp_path: Path, password: str = PASSWORD) -> Settings:
    """Settings whose Redis password is the secrets file's, as the launcher's Redis has it."""
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "redis-password").write_text(password)
    port = server.server_address[1]
    env = {"IVR_STATE_DIR": str(tmp_path), "IVR_REDIS_URL": f"redis://127.0.0.1:{port}/0"}
    return Settings.from_env(env)


def test_a_loading_redis_answers_but_does_not_serve_yet(loading_redis, tmp_path):
    settings = _settings(loading_redis, tmp_path)
    assert redis.answers(settings)
    assert not redis.serves(settings)
    assert "loading" in redis.problem(settings)


def test_start_returns_only_once_redis_takes_commands(loading_redis, tmp_path):
    settings = _settings(loading_redis, tmp_path)
    redis.start(settings)
    assert time.monotonic() >= loading_redis.ready_at
    assert redis.serves(settings) and redis.problem(settings) == ""
    assert loading_redis.auth_requests[-1] == f"AUTH {PASSWORD}".encode()


def test_a_wrong_password_is_named_as_a_possible_cause(loading_redis, tmp_path):
    time.sleep(0.7)
    settings = _settings(loading_redis, tmp_path, password="wrong")
    assert not redis.serves(settings)
    assert "wrong password" in redis.problem(settings)


def test_nothing_listening_is_no_answer(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {"IVR_STATE_DIR": str(tmp_path), "IVR_REDIS_URL": f"redis://:x@127.0.0.1:{port}/0"}
    assert redis.problem(Settings.from_env(env)).startswith("no answer")
