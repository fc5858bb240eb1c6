"""The RFC 4733 packets and the pcap that SIPp replays."""

from __future__ import annotations

import itertools
import struct
from pathlib import Path

import pytest

from tests.harness import dtmf


def read_pcap(data: bytes) -> list[tuple[float, bytes, bytes]]:
    """(time, IPv4 header, UDP datagram) of each frame of an Ethernet pcap."""
    magic, _, _, _, _, _, link = struct.unpack("<IHHiIII", data[:24])
    assert (magic, link) == (0xA1B2C3D4, 1)
    frames, offset = [], 24
    while offset < len(data):
        seconds, micros, captured, length = struct.unpack("<IIII", data[offset : offset + 16])
        assert captured == length
        frame = data[offset + 16 : offset + 16 + captured]
        assert struct.unpack("!H", frame[12:14])[0] == 0x0800
        frames.append((seconds + micros / 1e6, frame[14:34], frame[34:]))
        offset += 16 + captured
    return frames


def decode(rtp: bytes) -> dict[str, int | bool]:
    first, second, sequence, timestamp, ssrc = struct.unpack("!BBHII", rtp[:12])
    event, flags, duration = struct.unpack("!BBH", rtp[12:16])
    return {
        "version": first >> 6,
        "marker": bool(second & 0x80),
        "payload_type": second & 0x7F,
        "sequence": sequence,
        "timestamp": timestamp,
        "ssrc": ssrc,
        "event": event,
        "end": bool(flags & 0x80),
        "volume": flags & 0x3F,
        "duration": duration,
    }


def test_each_digit_starts_with_the_marker_grows_and_ends_three_times() -> None:
    packets = dtmf.event_packets("5")
    assert [p.marker for p in packets] == [True] + [False] * (len(packets) - 1)
    assert [p.end for p in packets][-3:] == [True, True, True]
    assert not any(p.end for p in packets[:-3])
    updates = [p.duration for p in packets if not p.end]
    assert updates == sorted(updates) and updates[0] == 160
    assert {p.duration for p in packets if p.end} == {dtmf.TONE_MS * 8}
    assert {p.timestamp for p in packets} == {0}
    assert {p.event for p in packets} == {5}


def test_digits_follow_in_order_with_new_timestamps_and_consecutive_sequence_numbers() -> None:
    packets = dtmf.event_packets("123456#")
    events = []
    for packet in packets:
        if packet.marker:
            events.append(packet.event)
    assert events == [1, 2, 3, 4, 5, 6, 11]
    assert [p.sequence for p in packets] == list(range(len(packets)))
    starts = [p.timestamp for p in packets if p.marker]
    gaps = {later - earlier for earlier, later in itertools.pairwise(starts)}
    assert gaps == {(dtmf.TONE_MS + dtmf.GAP_MS) * 8}
    assert [p.send_ms for p in packets] == sorted(p.send_ms for p in packets)


def test_a_repeated_digit_is_two_events() -> None:
    packets = dtmf.event_packets("11")
    assert sum(p.marker for p in packets) == 2
    assert len({p.timestamp for p in packets}) == 2


def test_a_later_batch_continues_the_stream_of_an_earlier_one() -> None:
    first = dtmf.event_packets("123456#", start_ms=4000)
    later_start = 4000 + dtmf.digit_span_ms("123456#") + 100
    second = dtmf.event_packets("1", start_ms=later_start)
    assert second[0].sequence > first[-1].sequence
    assert second[0].timestamp > first[-1].timestamp
    assert second[0].timestamp == later_start * 8
    assert second[0].send_ms == dtmf.PACKET_MS  # times in a pcap are relative to its start


def test_the_span_covers_the_last_packet() -> None:
    for digits in ("1", "42", "123456#"):
        assert dtmf.event_packets(digits)[-1].send_ms == dtmf.digit_span_ms(digits)


def test_rtp_bytes_follow_rfc_4733() -> None:
    packet = dtmf.event_packets("#", start_ms=20)[-1]
    fields = decode(dtmf.rtp_bytes(packet))
    assert fields == {
        "version": 2,
        "marker": False,
        "payload_type": 101,
        "sequence": packet.sequence,
        "timestamp": 160,
        "ssrc": dtmf.SSRC,
        "event": 11,
        "end": True,
        "volume": dtmf.VOLUME,
        "duration": dtmf.TONE_MS * 8,
    }


def test_the_pcap_holds_one_udp_datagram_per_packet_with_its_time() -> None:
    packets = dtmf.event_packets("*0")
    frames = read_pcap(dtmf.pcap_bytes(packets))
    assert len(frames) == len(packets)
    for (seconds, ip_header, datagram), packet in zip(frames, packets, strict=True):
        assert seconds == pytest.approx(packet.send_ms / 1000)
        assert ip_header[9] == 17  # UDP
        assert sum(struct.unpack("!10H", ip_header)) % 0xFFFF == 0  # header checksum holds
        _, destination, length, _ = struct.unpack("!HHHH", datagram[:8])
        assert destination == 6000 and length == len(datagram)
        assert decode(datagram[8:])["sequence"] == packet.sequence


def test_pcaps_are_cached_by_digits_and_position(tmp_path: Path) -> None:
    first = dtmf.dtmf_pcap("123#", tmp_path)
    written = first.stat().st_mtime_ns
    assert dtmf.dtmf_pcap("123#", tmp_path) == first
    assert first.stat().st_mtime_ns == written
    assert dtmf.dtmf_pcap("123#", tmp_path, start_ms=5000) != first
    assert dtmf.dtmf_pcap("*", tmp_path) != dtmf.dtmf_pcap("#", tmp_path)
    assert read_pcap(first.read_bytes())


@pytest.mark.parametrize(
    ("digits", "message"), [("", "no DTMF digits"), ("12x", "'x'"), ("1 2", "' '")]
)
def test_bad_digits_are_refused_naming_them(digits: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dtmf.event_packets(digits)
