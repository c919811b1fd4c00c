"""Screenshots read with the standard library (Pillow is no dependency of the tests): enough of PNG for what
Chromium writes, 8-bit RGB or RGBA, not interlaced (PNG specification, sections 9 and 11)."""

from __future__ import annotations

import struct
import zlib
from collections import Counter
from pathlib import Path


def png_pixels(path: Path) -> tuple[int, int, list[tuple[int, int, int]]]:
    """Width, height and the RGB colour of every pixel (row by row) of an 8-bit, non-interlaced PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    chunks: dict[bytes, bytes] = {}
    offset = 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        chunks[kind] = chunks.get(kind, b"") + data[offset + 8 : offset + 8 + length]
        offset += 12 + length
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert depth == 8 and colour_type in (2, 6) and interlace == 0, "an 8-bit RGB(A) PNG, not interlaced"
    channels = 3 if colour_type == 2 else 4
    raw = _unfilter(zlib.decompress(chunks[b"IDAT"]), width * channels, height, channels)
    pixels = [(raw[i], raw[i + 1], raw[i + 2]) for i in range(0, len(raw), channels)]
    return width, height, pixels


def _unfilter(raw: bytes, stride: int, height: int, channels: int) -> bytes:
    """The scanlines of a PNG with their filters undone (PNG specification, section 9)."""
    out = bytearray()
    previous = bytearray(stride)
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            line[i] = (line[i] + _predict(kind, left, up, corner)) & 0xFF
        out += line
        previous = line
    return bytes(out)


def _predict(kind: int, left: int, up: int, corner: int) -> int:
    if kind == 0:
        return 0
    if kind == 1:
        return left
    if kind == 2:
        return up
    if kind == 3:
        return (left + up) // 2
    estimate = left + up - corner  # 4: Paeth
    near = min((abs(estimate - left), 0, left), (abs(estimate - up), 1, up), (abs(estimate - corner), 2, corner))
    return near[2]


def colour_counts(path: Path) -> Counter[tuple[int, int, int]]:
    """How many pixels of each colour a screenshot has."""
    return Counter(png_pixels(path)[2])


def hex_colour(text: str) -> tuple[int, int, int]:
    """``#rrggbb`` as an RGB tuple."""
    return (int(text[1:3], 16), int(text[3:5], 16), int(text[5:7], 16))
