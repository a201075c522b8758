"""A small client for the ng control protocol of media relays (rtpengine's, and the subset
centralita speaks: ping, offer, answer, delete, query).

Wire format (rtpengine docs/ng_control_protocol.md): one UDP datagram per message,
``<cookie> <bencoded dictionary>``; the reply carries the same cookie, so a reply is matched
to its request by cookie, and a retransmitted request (same cookie) is answered from the
relay's cache instead of being executed twice. Every reply has a "result" key: "ok",
"pong", or "error" with an "error-reason".

bencode (BitTorrent BEP 3): integers ``i<n>e``, byte strings ``<len>:<bytes>``, lists
``l...e``, dictionaries ``d...e`` with keys sorted as raw bytes. ``encode`` takes str, bytes,
int, bool (as 0/1), list/tuple and dict; ``decode`` returns str for strings (UTF-8 with
surrogateescape, so ``encode(decode(x)) == x`` for any canonical input) unless ``text=False``;
it accepts keys in any order (rtpengine does not sort them) but refuses a repeated key.

Python 3 standard library only. Every wait is bounded: ``timeout`` per attempt,
``attempts`` sends of the same cookie.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any

__all__ = ["BencodeError", "NgError", "NgClient", "encode", "decode"]


class BencodeError(ValueError):
    """Malformed bencoded input (the message says where)."""


class NgError(RuntimeError):
    """The relay answered result=error, did not answer in time, or answered garbage."""

    def __init__(self, message: str, reply: dict | None = None, timed_out: bool = False) -> None:
        super().__init__(message)
        self.reply = reply            # the decoded reply, for result=error
        self.timed_out = timed_out    # no reply at all after every attempt


# --------------------------------------------------------------------------- bencode

def _as_bytes(s: str | bytes) -> bytes:
    return s if isinstance(s, bytes) else s.encode("utf-8", "surrogateescape")


def _encode_into(v: Any, out: list[bytes]) -> None:
    if isinstance(v, bool):                  # before int: bool is an int subclass
        out.append(b"i1e" if v else b"i0e")
    elif isinstance(v, int):
        out.append(b"i%de" % v)
    elif isinstance(v, (str, bytes, bytearray)):
        b = _as_bytes(bytes(v) if isinstance(v, bytearray) else v)
        out.append(b"%d:" % len(b))
        out.append(b)
    elif isinstance(v, (list, tuple)):
        out.append(b"l")
        for item in v:
            _encode_into(item, out)
        out.append(b"e")
    elif isinstance(v, dict):
        out.append(b"d")
        # BEP 3: keys are strings, sorted as raw strings (byte order, not text order).
        items = sorted(((_as_bytes(k), val) for k, val in v.items()), key=lambda kv: kv[0])
        for i in range(1, len(items)):
            if items[i][0] == items[i - 1][0]:
                raise BencodeError(f"duplicate dictionary key {items[i][0]!r}")
        for k, val in items:
            out.append(b"%d:" % len(k))
            out.append(k)
            _encode_into(val, out)
        out.append(b"e")
    else:
        raise BencodeError(f"cannot bencode a {type(v).__name__}")


def encode(v: Any) -> bytes:
    """The bencoding of v (str, bytes, int, bool, list, tuple, dict)."""
    out: list[bytes] = []
    _encode_into(v, out)
    return b"".join(out)


MAX_DEPTH = 64   # nesting bound: a hostile reply cannot exhaust the stack


def _decode_at(data: bytes, i: int, text: bool, depth: int) -> tuple[Any, int]:
    if depth > MAX_DEPTH:
        raise BencodeError(f"nesting deeper than {MAX_DEPTH} at offset {i}")
    if i >= len(data):
        raise BencodeError(f"truncated input at offset {i}")
    c = data[i:i + 1]
    if c == b"i":
        end = data.find(b"e", i + 1)
        if end < 0:
            raise BencodeError(f"unterminated integer at offset {i}")
        digits = data[i + 1:end]
        # BEP 3: no leading zeros, no "-0", at least one digit.
        body = digits[1:] if digits.startswith(b"-") else digits
        if not body.isdigit() or (len(body) > 1 and body.startswith(b"0")) or digits == b"-0":
            raise BencodeError(f"bad integer {digits!r} at offset {i}")
        return int(digits), end + 1
    if c.isdigit():
        colon = data.find(b":", i)
        if colon < 0:
            raise BencodeError(f"string length without ':' at offset {i}")
        length_text = data[i:colon]
        if not length_text.isdigit() or (len(length_text) > 1 and length_text.startswith(b"0")):
            raise BencodeError(f"bad string length {length_text!r} at offset {i}")
        n = int(length_text)
        start = colon + 1
        if start + n > len(data):
            raise BencodeError(f"string of {n} bytes at offset {i} runs past the end")
        raw = data[start:start + n]
        return (raw.decode("utf-8", "surrogateescape") if text else raw), start + n
    if c == b"l":
        out, i = [], i + 1
        while True:
            if i >= len(data):
                raise BencodeError("unterminated list")
            if data[i:i + 1] == b"e":
                return out, i + 1
            item, i = _decode_at(data, i, text, depth + 1)
            out.append(item)
    if c == b"d":
        d, i = {}, i + 1
        while True:
            if i >= len(data):
                raise BencodeError("unterminated dictionary")
            if data[i:i + 1] == b"e":
                return d, i + 1
            if not data[i:i + 1].isdigit():
                raise BencodeError(f"dictionary key is not a string at offset {i}")
            key_at = i
            key, i = _decode_at(data, i, text, depth + 1)
            # BEP 3 wants sorted keys, but rtpengine writes them in insertion order:
            # accept any order, refuse a repeated key (its value would be ambiguous).
            if key in d:
                raise BencodeError(f"repeated dictionary key {key!r} at offset {key_at}")
            d[key], i = _decode_at(data, i, text, depth + 1)
    raise BencodeError(f"unexpected byte {c!r} at offset {i}")


def decode(data: bytes, text: bool = True) -> Any:
    """The value bencoded in data; the whole input must be one value."""
    value, end = _decode_at(bytes(data), 0, text, 0)
    if end != len(data):
        raise BencodeError(f"{len(data) - end} trailing bytes after the value")
    return value


# --------------------------------------------------------------------------- ng client

class NgClient:
    """One UDP socket to one relay's ng port. Not thread-safe (one request at a time).

    ``request(command, **args)`` sends ``{"command": command, **args}`` and returns the
    decoded reply dictionary; it raises NgError on result=error (unless ``check=False``), on
    a garbled reply, or when no reply came after ``attempts`` sends of ``timeout`` seconds
    each. Keys with "_" in Python become "-" on the wire (call_id -> call-id)."""

    def __init__(self, host: str, port: int, timeout: float = 1.0, attempts: int = 3) -> None:
        self.addr = (host, port)
        self.timeout = timeout
        self.attempts = attempts
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                                  socket.SOCK_DGRAM)
        # Replies to an SDP offer carry the whole SDP; many calls' replies may queue up.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.connect(self.addr)
        self._prefix = os.urandom(4).hex()
        self._seq = 0
        self.sent = 0            # datagrams sent, retransmissions included
        self.retransmissions = 0

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "NgClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _cookie(self) -> bytes:
        self._seq += 1
        return f"{self._prefix}_{self._seq}".encode()

    def request(self, command: str, check: bool = True, **args: Any) -> dict:
        msg = {"command": command}
        msg.update({k.replace("_", "-"): v for k, v in args.items()})
        cookie = self._cookie()
        datagram = cookie + b" " + encode(msg)
        if len(datagram) > 65507:
            raise NgError(f"{command}: message of {len(datagram)} bytes does not fit a datagram")
        for attempt in range(self.attempts):
            self.sock.send(datagram)
            self.sent += 1
            if attempt:
                self.retransmissions += 1
            deadline = time.monotonic() + self.timeout
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.sock.settimeout(left)
                try:
                    data = self.sock.recv(65536)
                except socket.timeout:
                    break
                except ConnectionRefusedError:   # ICMP port unreachable: nothing listens yet
                    break
                got_cookie, sep, body = data.partition(b" ")
                if not sep or got_cookie != cookie:
                    continue   # a late reply to an earlier request: not ours
                try:
                    reply = decode(body)
                except BencodeError as e:
                    raise NgError(f"{command}: undecodable reply ({e}): {body[:200]!r}") from e
                if not isinstance(reply, dict):
                    raise NgError(f"{command}: reply is not a dictionary: {body[:200]!r}")
                if check and reply.get("result") == "error":
                    raise NgError(f"{command}: {reply.get('error-reason', 'error')}", reply)
                return reply
        raise NgError(f"{command}: no reply from {self.addr[0]}:{self.addr[1]} after "
                      f"{self.attempts} attempts of {self.timeout:.1f} s", timed_out=True)

    # The commands. Extra ng keys go through **args (e.g. flags=[...], replace=[...]).

    def ping(self) -> dict:
        return self.request("ping")

    def offer(self, call_id: str, from_tag: str, sdp: str, **args: Any) -> dict:
        return self.request("offer", call_id=call_id, from_tag=from_tag, sdp=sdp, **args)

    def answer(self, call_id: str, from_tag: str, to_tag: str, sdp: str, **args: Any) -> dict:
        return self.request("answer", call_id=call_id, from_tag=from_tag, to_tag=to_tag,
                            sdp=sdp, **args)

    def delete(self, call_id: str, from_tag: str | None = None, **args: Any) -> dict:
        if from_tag is not None:
            args["from_tag"] = from_tag
        return self.request("delete", call_id=call_id, **args)

    def query(self, call_id: str, **args: Any) -> dict:
        return self.request("query", call_id=call_id, **args)


# --------------------------------------------------------------------------- SDP helpers

def media_address(sdp: str, media_index: int = 0) -> tuple[str, int]:
    """(connection address, port) of the media_index-th m= line of an SDP body
    (RFC 8866 §5.7 c=, §5.14 m=): a media-level c= overrides the session-level one."""
    session_c: str | None = None
    media: list[tuple[int, str | None]] = []
    for line in sdp.replace("\r\n", "\n").split("\n"):
        if line.startswith("c="):
            addr = line[2:].split()[-1].split("/")[0]   # "IN IP4 addr[/ttl]"
            if media:
                media[-1] = (media[-1][0], addr)
            else:
                session_c = addr
        elif line.startswith("m="):
            parts = line[2:].split()
            media.append((int(parts[1].split("/")[0]), None))
    if media_index >= len(media):
        raise ValueError(f"SDP has {len(media)} m= lines, wanted #{media_index}:\n{sdp}")
    port, addr = media[media_index]
    addr = addr or session_c
    if addr is None:
        raise ValueError(f"SDP has no c= line for m= #{media_index}:\n{sdp}")
    return addr, port


def media_payload_types(sdp: str, media_index: int = 0) -> list[str]:
    """The format list of the media_index-th m= line (RFC 8866 §5.14)."""
    found = [l for l in sdp.replace("\r\n", "\n").split("\n") if l.startswith("m=")]
    return found[media_index][2:].split()[3:]


def rtpmap(sdp: str) -> dict[str, str]:
    """payload type -> "encoding/clock[/channels]" from a=rtpmap lines (RFC 8866 §6.6)."""
    out = {}
    for line in sdp.replace("\r\n", "\n").split("\n"):
        if line.startswith("a=rtpmap:"):
            pt, _, enc = line[len("a=rtpmap:"):].partition(" ")
            out[pt] = enc.strip()
    return out
