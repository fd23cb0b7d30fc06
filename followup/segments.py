"""SMS length: how many segments a body takes in GSM-7 (160 characters, 153 per part of a
longer text) or, when a character is outside GSM-7, in UCS-2 (70, 67 per part)."""

import math
from typing import NamedTuple

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")


class Segments(NamedTuple):
    encoding: str  # "GSM-7" or "UCS-2"
    count: int  # type: ignore[assignment]  # a field named like tuple.count, which it hides
    length: int  # in the encoding's units (a GSM-7 extended character counts twice)


def sms_segments(body: str) -> Segments:
    if all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in body):
        units = len(body) + sum(c in GSM7_EXTENDED for c in body)
        encoding, single, part = "GSM-7", 160, 153
    else:
        units = len(body.encode("utf-16-le")) // 2
        encoding, single, part = "UCS-2", 70, 67
    return Segments(encoding, 1 if units <= single else math.ceil(units / part), units)
