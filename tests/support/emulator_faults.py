"""The provider emulator's delays and faults: the latency every emulated API call takes (fixed
or jittered, like a provider across the internet) and injected faults (errors, extra latency),
as a mixin of ProviderEmulator. One delay per request, computed here and slept once."""

from __future__ import annotations

import random
import threading
from http import HTTPStatus
from typing import Any

from tests.support.emulator_messaging import sendgrid_error

PROVIDERS = ("sendgrid", "twilio", "zendesk", "freshdesk", "webhook")

FAULT_DEFAULTS: dict[str, Any] = {
    "rate": 0.0,
    "status": 503,
    "code": None,
    "latency_ms": 0,
    "times": None,
    "providers": list(PROVIDERS),
    "match": None,
    "methods": None,
    "applied": False,
    "drop": False,
}


def check_faults(raw: dict[str, Any]) -> dict[str, Any]:
    """A complete fault setting from user input (unknown keys or bad values raise ValueError)."""
    unknown = set(raw) - set(FAULT_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown fault options: {sorted(unknown)}")
    f = {**FAULT_DEFAULTS, **{k: v for k, v in raw.items() if v is not None}}
    try:
        f["rate"] = float(f["rate"])
        f["status"] = HTTPStatus(int(f["status"])).value
        f["latency_ms"] = float(f["latency_ms"])
        f["code"] = None if f["code"] is None else int(f["code"])
        f["times"] = None if f["times"] is None else int(f["times"])
        providers = f["providers"]
        f["providers"] = [providers] if isinstance(providers, str) else list(providers)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"bad fault value: {exc}") from None
    if not 0.0 <= f["rate"] <= 1.0:
        raise ValueError("rate must be between 0.0 and 1.0")
    if not 400 <= f["status"] <= 599:
        raise ValueError("status must be an HTTP error status (400-599)")
    if f["latency_ms"] < 0:
        raise ValueError("latency_ms must be >= 0")
    if f["times"] is not None and f["times"] < 1:
        raise ValueError("times must be >= 1 or null")
    if not all(p in PROVIDERS for p in f["providers"]):
        raise ValueError(f"providers must be a subset of {list(PROVIDERS)}")
    if f["match"] is not None and not isinstance(f["match"], str):
        raise ValueError("match must be a string or null")
    methods = f["methods"]
    if methods is not None:
        f["methods"] = [methods] if isinstance(methods, str) else list(methods)
        if not all(isinstance(m, str) and m.isupper() for m in f["methods"]):
            raise ValueError("methods must be HTTP methods (GET, PUT, POST ...) or null")
    if not (isinstance(f["applied"], bool) and isinstance(f["drop"], bool)):
        raise ValueError("applied and drop must be true or false")
    return f


def check_latency(latency_ms: Any, jitter_ms: Any = 0) -> dict[str, float]:
    """{"latency_ms", "jitter_ms"} from user input: numbers, jitter at most the latency."""
    try:
        latency, jitter = float(latency_ms), float(jitter_ms or 0)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"bad latency value: {exc}") from None
    if latency < 0 or jitter < 0:
        raise ValueError("latency_ms and jitter_ms must be >= 0")
    if jitter > latency:
        raise ValueError("jitter_ms must be at most latency_ms (a delay is never negative)")
    return {"latency_ms": latency, "jitter_ms": jitter}


class DelaysAndFaults:
    """Latency and faults; ProviderEmulator supplies ``_lock``.

    Every provider request waits ``latency_ms`` plus a uniform draw in ``[-jitter_ms,
    +jitter_ms]`` (so the mean stays ``latency_ms``), plus the ``latency_ms`` of a fault that
    covers it. The wait happens in the request's own thread after the request is recorded, so
    calls in flight on many keep-alive connections wait in parallel.
    """

    _lock: threading.Lock
    _faults: dict[str, Any] | None
    _latency: dict[str, float]
    _random: random.Random

    def set_latency(self, latency_ms: float = 0, jitter_ms: float = 0) -> dict[str, float]:
        """Set the answer delay of every provider request; returns the setting in force."""
        setting = check_latency(latency_ms, jitter_ms)
        with self._lock:
            self._latency = setting
        return self.latency()

    def latency(self) -> dict[str, float]:
        with self._lock:
            return dict(self._latency)

    def _delay_ms(self, fault: dict[str, Any]) -> float:
        """This request's delay: the standing latency, jittered, plus a fault's latency."""
        with self._lock:
            base, jitter = self._latency["latency_ms"], self._latency["jitter_ms"]
            drawn = self._random.uniform(-jitter, jitter) if jitter else 0.0
        return max(0.0, base + drawn) + float(fault.get("latency_ms") or 0)

    def set_faults(self, **options: Any) -> dict[str, Any]:
        """Replace the fault setting (no options: clear it); returns the setting in force."""
        faults = check_faults(options) if options else None
        if faults and faults["rate"] == 0 and faults["latency_ms"] == 0:
            faults = None
        with self._lock:
            self._faults = faults
        return self.faults()

    def faults(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._faults) if self._faults else dict(FAULT_DEFAULTS)

    def _take_fault(
        self, provider: str, recipient: str | None, method: str
    ) -> tuple[bool, dict[str, Any]]:
        """(fails, fault) for one provider request; consumes one of ``times``."""
        with self._lock:
            f = self._faults
            if f is None or provider not in f["providers"]:
                return False, {}
            if f["methods"] is not None and method not in f["methods"]:
                return False, {}
            if f["match"] is not None and (recipient is None or f["match"] not in recipient):
                return False, {}
            if f["times"] is not None:
                f["times"] -= 1
                if f["times"] <= 0:
                    self._faults = None
            fails = f["rate"] > 0 and self._random.random() < f["rate"]
            return fails, dict(f)

    @staticmethod
    def _fault_answer(provider: str, fault: dict[str, Any]) -> tuple[int, Any]:
        status = fault["status"]
        phrase = HTTPStatus(status).phrase
        if provider == "sendgrid":
            return status, {"errors": [sendgrid_error(f"Injected fault: {phrase}")]}
        if provider != "twilio":
            return status, {"error": f"Injected fault: {phrase}"}
        code = fault["code"] or 20000 + status
        return status, {
            "code": code,
            "message": f"Injected fault: {phrase}",
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
