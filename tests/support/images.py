"""Small real images for upload tests: a PNG of one colour that browsers draw, and a PNG's
header alone (what the size checks read)."""

import struct
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_header(width: int, height: int) -> bytes:
    """A PNG's signature and header (8-bit RGB), no pixels."""
    return SIGNATURE + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))


def png(width: int = 120, height: int = 40, rgb: tuple[int, int, int] = (11, 87, 208)) -> bytes:
    """A width × height PNG of one colour."""
    row = b"\x00" + bytes(rgb) * width
    pixels = _chunk(b"IDAT", zlib.compress(row * height))
    return png_header(width, height) + pixels + _chunk(b"IEND", b"")
