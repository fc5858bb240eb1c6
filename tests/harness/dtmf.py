"""RFC 4733 DTMF for SIPp: a pcap of telephone-event RTP packets per digit string.

SIPp sends DTMF by replaying a capture (`play_pcap_audio`). It rewrites only the addresses and
ports, never the RTP sequence numbers or timestamps, so every batch of digits in one call must
continue the stream where the previous one left off, or the receiver drops the later digits as
repeats. Each pcap is therefore made for a position in the call's stream (`start_ms`, the time
after answer when SIPp plays it) and cached by digit string and position.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

PAYLOAD_TYPE = 101
CLOCK_RATE = 8000
PACKET_MS = 20
TONE_MS = 120
GAP_MS = 200
END_REPEATS = 3
VOLUME = 10  # -10 dBm0, a usual keypad level
SSRC = 0x57494E45

EVENT_CODES = {
    **{str(digit): digit for digit in range(10)},
    "*": 10,
    "#": 11,
    "A": 12,
    "B": 13,
    "C": 14,
    "D": 15,
}

SAMPLES_PER_MS = CLOCK_RATE // 1000
_PACKETS_PER_TONE = TONE_MS // PACKET_MS


@dataclass(frozen=True)
class EventPacket:
    """One telephone-event RTP packet and when it leaves, in ms after the stream start."""

    send_ms: int
    sequence: int
    timestamp: int
    marker: bool
    event: int
    end: bool
    duration: int  # in timestamp units (1/8000 s)


def digit_span_ms(digits: str) -> int:
    """How long the digits take to send, from the first packet to the last."""
    _validate(digits)
    return len(digits) * TONE_MS + (len(digits) - 1) * GAP_MS + (END_REPEATS - 1) * PACKET_MS


def event_packets(digits: str, *, start_ms: int = 0) -> list[EventPacket]:
    """The packets for the digits, as a stream that starts `start_ms` after answer.

    Per digit: a first packet with the marker bit, updates every 20 ms with a growing duration,
    then the end packet sent three times (same timestamp and duration, new sequence numbers).
    """
    _validate(digits)
    if start_ms < 0:
        raise ValueError(f"start_ms must not be negative, not {start_ms}")
    packets: list[EventPacket] = []
    sequence = start_ms // PACKET_MS
    for index, digit in enumerate(digits):
        tone_start_ms = start_ms + index * (TONE_MS + GAP_MS)
        timestamp = tone_start_ms * SAMPLES_PER_MS
        for step in range(1, _PACKETS_PER_TONE + END_REPEATS):
            is_end = step >= _PACKETS_PER_TONE
            packets.append(
                EventPacket(
                    send_ms=tone_start_ms + step * PACKET_MS - start_ms,
                    sequence=sequence % 65536,
                    timestamp=timestamp % 2**32,
                    marker=step == 1,
                    event=EVENT_CODES[digit],
                    end=is_end,
                    duration=min(step, _PACKETS_PER_TONE) * PACKET_MS * SAMPLES_PER_MS,
                )
            )
            sequence += 1
    return packets


def rtp_bytes(packet: EventPacket) -> bytes:
    """The RTP packet: 12-byte header, then the 4-byte event (RFC 4733 section 2.3)."""
    header = struct.pack(
        "!BBHII",
        0x80,  # version 2, no padding, no extension, no CSRC
        (0x80 if packet.marker else 0) | PAYLOAD_TYPE,
        packet.sequence,
        packet.timestamp,
        SSRC,
    )
    end_and_volume = (0x80 if packet.end else 0) | VOLUME
    return header + struct.pack("!BBH", packet.event, end_and_volume, packet.duration)


def pcap_bytes(packets: list[EventPacket]) -> bytes:
    """A pcap (Ethernet, IPv4, UDP) that SIPp replays with the packets' spacing in time."""
    chunks = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for packet in packets:
        frame = _ethernet_frame(rtp_bytes(packet))
        seconds, milliseconds = divmod(packet.send_ms, 1000)
        chunks.append(struct.pack("<IIII", seconds, milliseconds * 1000, len(frame), len(frame)))
        chunks.append(frame)
    return b"".join(chunks)


def dtmf_pcap(digits: str, directory: Path, *, start_ms: int = 0) -> Path:
    """The cached pcap for the digits at that stream position, written on first use."""
    packets = event_packets(digits, start_ms=start_ms)
    # The timing constants are in the name: a cache made with other ones is never reused.
    timing = f"{TONE_MS}-{GAP_MS}-{END_REPEATS}"
    path = directory / f"dtmf-{_file_safe(digits)}-at-{start_ms}ms-{timing}.pcap"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        partial.write_bytes(pcap_bytes(packets))
        partial.replace(path)  # atomic: a concurrent reader never sees half a file
    return path


def _ethernet_frame(payload: bytes) -> bytes:
    # SIPp replaces the addresses and ports; only the UDP destination port must be the same in
    # every packet (SIPp takes the lowest one as the stream's base port).
    udp = struct.pack("!HHHH", 6000, 6000, 8 + len(payload), 0) + payload
    ip_header = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, bytes(4), bytes(4)
    )
    ip_header = ip_header[:10] + struct.pack("!H", _ip_checksum(ip_header)) + ip_header[12:]
    return bytes(6) + bytes(6) + struct.pack("!H", 0x0800) + ip_header + udp


def _ip_checksum(header: bytes) -> int:
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _validate(digits: str) -> None:
    if not digits:
        raise ValueError("no DTMF digits given")
    unknown = sorted({digit for digit in digits if digit not in EVENT_CODES})
    if unknown:
        raise ValueError(
            f"not DTMF digits: {''.join(unknown)!r} in {digits!r} (use 0-9, *, #, A-D)"
        )


def _file_safe(digits: str) -> str:
    return digits.replace("*", "s").replace("#", "h")
