"""Hostile input, shared by the sweeps of the public routes and the API's odd-input tests:
strings that break parsers, databases and pages (STRINGS), URL path pieces as an attacker
types them, already percent-encoded (PATH_SEGMENTS), JSON numbers and values of the wrong
type, deeply nested JSON, and bodies just over a size limit.

PostgreSQL refuses NUL in text and integers beyond a column's range, SQLite and psycopg
refuse lone surrogates, Python's JSON decoder gives up on deep nesting: each has a name here
so a failure says which input broke what.
"""

import json
from urllib.parse import urlencode

FORM = "application/x-www-form-urlencoded"

# Text as a form field or a JSON string carries it.
STRINGS: dict[str, str] = {
    "nul": "nul\x00byte",
    "control": "bell\x07 escape\x1b[31m delete\x7f",
    "lone_surrogate": "half \ud800 a pair",
    "rtl_zero_width": "\u202etxt.exe\u200b\u200d\ufeff",
    "emoji": "Great 👍🏽 thanks 💩🇳🇴",
    "long_10k": "x" * 10_000,
    "script": "<script>alert(1)</script>",
    "attribute_break": '"><img src=x onerror=alert(1)>',
    "javascript_url": "javascript:alert(document.cookie)",
    "sql": "' OR 1=1; DROP TABLE cases; --",
    "traversal": "../../../../etc/passwd",
    "crlf": "a\r\nSet-Cookie: stolen=1\r\n\r\n<html>",
    "format": "%s%s%n%x {0.__class__} %(secret)s",
    "jinja": "{{7*7}}{{ config }}{% raw %}",
    "big_number": str(2**63),
    "unicode_digits": "\u00b27\u0663",  # str.isdigit() says yes, int() says no
    "negative": "-1",
    "overflow_float": "1e309",
    "nan": "NaN",
    "blank": "   ",
}
LONG_100K = "y" * 100_000
# The markup the injection strings above carry; a page showing them must show them escaped.
MARKUP = ("<script>", "<img src=x")

# URL path pieces as sent (percent-encoded where an attacker would encode them).
PATH_SEGMENTS: dict[str, str] = {
    "nul": "a%00b",
    "only_nul": "%00",
    "overlong_slash": "%C0%AF",
    "overlong_dot": "%E0%80%AE%E0%80%AE",
    "encoded_surrogate": "%ED%A0%80",
    "invalid_escape": "%ZZ%G1%",
    "emoji": "%F0%9F%92%A9",
    "traversal": "..%2F..%2Fetc%2Fpasswd",
    "crlf": "x%0D%0ASet-Cookie:%20stolen=1",
    "script": "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "jinja": "%7B%7B7*7%7D%7D",
    "sql": "'%20OR%201=1%20--",
    "long_5k": "x" * 5000,
    "just_too_long": "a" * 101,
    "big_number": str(2**63),
    "huge_number": "9" * 40,
    "unicode_digits": "%C2%B27%D9%A3",
    "negative": "-1",
}

# JSON numbers as raw JSON text (what a sender can put where a number or an id belongs).
NUMBERS: dict[str, str] = {
    "beyond_int32": str(2**31),
    "beyond_int64": str(2**63),
    "huge": "9" * 40,
    "negative": "-1",
    "overflow_float": "1e309",
    "nan": "NaN",
    "infinity": "-Infinity",
    "fraction": "4.5",
    "true": "true",
}

# Values of the wrong JSON type for a field that wants a string or an object.
WRONG_TYPES: dict[str, object] = {
    "list": ["a", "b"],
    "object": {"nested": {"a": 1}},
    "number": 12,
    "boolean": True,
    "null": None,
    "empty_string": "",
}


def deep_json(depth: int = 10_000) -> str:
    """A JSON array nested this deep (Python's decoder gives up near 1,000)."""
    return "[" * depth + "]" * depth


def deep_object(key: str, depth: int = 5_000) -> str:
    """{"key": {"key": ... {}}} nested this deep, as raw JSON text (5,000 levels of a short
    key stay under the default body limit)."""
    return f"{{{json.dumps(key)}:" * depth + "{}" + "}" * depth


def duplicate_keys(key: str, first: object, second: object) -> str:
    """A JSON object naming a key twice (decoders keep the last)."""
    name = json.dumps(key)
    return f"{{{name}: {json.dumps(first)}, {name}: {json.dumps(second)}}}"


def just_over(limit: int) -> str:
    """A string one byte longer than a body limit."""
    return "z" * (limit + 1)


def form_body(fields: dict | list[tuple[str, str]]) -> bytes:
    """A urlencoded body of any strings: a lone surrogate goes as its (invalid) UTF-8 bytes,
    as a client that does not check would send it."""
    return urlencode(fields, doseq=True, encoding="utf-8", errors="surrogatepass").encode()
