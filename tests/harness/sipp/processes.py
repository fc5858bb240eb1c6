"""Running SIPp: its work folder, the process, and the SIP and RTP ports it takes."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import socket
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.harness.sipp.scenario import SipTarget

HARNESS_DIR = Path(tempfile.gettempdir()) / "winet-harness"
PCAP_DIR = HARNESS_DIR / "dtmf"
SIPP_PORTS = range(5080, 5100)
FIRST_PHONE_PORT = 5070
RTP_BASE_PORT = 40000
RTP_PORTS_PER_PHONE = 100
LOOPBACK = "127.0.0.1"


class SippError(Exception):
    """SIPp could not be run, or ran into a fatal error; the message says why."""


class SippRun:
    def __init__(self, work_dir: Path, process: asyncio.subprocess.Process) -> None:
        self.work_dir = work_dir
        self.process = process

    async def wait(self, seconds: float) -> int:
        try:
            return await asyncio.wait_for(self.process.wait(), seconds)
        except TimeoutError:
            raise SippError(
                f"sipp (pid {self.process.pid}) still running after {seconds}s; "
                f"stopped. Its output: {self.read('sipp.out')[-2000:]}"
            ) from None

    def read(self, name: str) -> str:
        path = self.work_dir / name
        return path.read_text(errors="replace") if path.exists() else ""

    def check_exit(self, code: int) -> int:
        """0: every call completed its scenario, 1: some failed; anything else is fatal."""
        if code not in (0, 1):
            raise SippError(f"sipp exited with {code}: {self.read('sipp.out')[-2000:]}")
        return code

    async def stop(self, seconds: float) -> None:
        """Ask SIPp to quit (SIGINT: it lets its calls end first), then kill it if it must."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(self.process.wait(), seconds)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


@contextlib.asynccontextmanager
async def sipp_run(
    files: Callable[[], tuple[str, str]],
    *,
    token: str,
    remote: SipTarget | None,
    address: str = LOOPBACK,
    port: int | None = None,
    trace_messages: bool = False,
    extra_args: Sequence[str] = (),
) -> AsyncIterator[SippRun]:
    """Run SIPp: a client calling `remote`, or a server on `port`, bound to `address`.

    `files` makes the scenario XML and the inject file (run off the event loop, as it writes
    the DTMF pcaps); SIPp works in a folder of its own, removed afterwards.
    """
    if shutil.which("sipp") is None:
        raise SippError("sipp is not installed (Debian package sip-tester)")
    options = _SippOptions(token, remote, address, trace_messages, tuple(extra_args))
    work_dir = await asyncio.to_thread(_prepare_work_dir, files)
    try:
        with _claimed_port(address, port) as claimed:
            async with _running_sipp(work_dir, claimed, options) as run:
                yield run
    finally:
        await asyncio.to_thread(shutil.rmtree, work_dir, True)


@dataclass(frozen=True)
class _SippOptions:
    token: str
    remote: SipTarget | None
    address: str
    trace_messages: bool
    extra_args: tuple[str, ...]


def _prepare_work_dir(files: Callable[[], tuple[str, str]]) -> Path:
    HARNESS_DIR.mkdir(parents=True, exist_ok=True)
    work_dir = Path(tempfile.mkdtemp(prefix="sipp-", dir=HARNESS_DIR))
    scenario_xml, inject = files()
    (work_dir / "scenario.xml").write_text(scenario_xml)
    (work_dir / "inject.csv").write_text(inject)
    return work_dir


@contextlib.asynccontextmanager
async def _running_sipp(work_dir: Path, port: int, options: _SippOptions) -> AsyncIterator[SippRun]:
    remote = options.remote
    args = [
        *((f"{remote.host}:{remote.port}",) if remote else ()),
        *("-sf", "scenario.xml", "-inf", "inject.csv"),
        *("-i", options.address, "-p", str(port), "-t", "u1"),
        *("-mi", options.address, "-mp", str(_media_port(port))),
        *("-cid_str", f"%u-%p-{options.token}@%s"),
        *("-nostdin", "-trace_logs", "-log_file", "calls.log"),
        *("-trace_err", "-error_file", "errors.log"),
        *("-trace_stat", "-stf", "stats.csv", "-fd", "1"),
        *(("-trace_msg", "-message_file", "messages.log") if options.trace_messages else ()),
        *options.extra_args,
    ]
    with (work_dir / "sipp.out").open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            "sipp",
            *args,
            cwd=work_dir,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=output,
            stderr=asyncio.subprocess.STDOUT,
        )
    try:
        yield SippRun(work_dir, process)
    finally:
        if process.returncode is None:
            process.kill()  # by its PID, through the process handle
            await process.wait()


_claimed: set[int] = set()


@contextlib.contextmanager
def _claimed_port(address: str, wanted: int | None = None) -> Iterator[int]:
    """A free SIP port on `address` for one SIPp run: `wanted`, or the first free one in
    5080-5099.

    Callers use 5080-5099; the pjsua2 phones 5070-5079 (and the trunk's 127.0.0.2:5090). Each
    port comes with its RTP block.
    """
    for port in SIPP_PORTS if wanted is None else (wanted,):
        if port in _claimed or not _udp_ports_free(address, port, _media_port(port)):
            continue
        _claimed.add(port)
        try:
            yield port
        finally:
            _claimed.discard(port)
        return
    if wanted is not None:
        raise SippError(
            f"UDP port {address}:{wanted} (or its RTP port {_media_port(wanted)}) is in use"
        )
    raise SippError(f"no free UDP port for SIPp in {SIPP_PORTS.start}-{SIPP_PORTS.stop - 1}")


def _media_port(sip_port: int) -> int:
    return RTP_BASE_PORT + RTP_PORTS_PER_PHONE * (sip_port - FIRST_PHONE_PORT)


def udp_port_bound(port: int) -> bool:
    """Some socket is bound to this UDP port (read from the kernel: no probe that races)."""
    suffix = f":{port:04X}"
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        with open(table) as sockets:
            next(sockets)  # the column names
            if any(line.split()[1].endswith(suffix) for line in sockets):
                return True
    return False


def _udp_ports_free(address: str, *ports: int) -> bool:
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind((address, port))
            except OSError:
                return False
    return True
