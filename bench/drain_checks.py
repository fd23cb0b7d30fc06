"""What bench.drain checks and prints: that every message reached the emulator exactly
once, the rates of a phase, the delays from due to the provider, and the ratios against the
issue's goals."""

from __future__ import annotations

from collections import Counter

from bench.runs import BenchError
from tests.support.emulator import message_id_of

GOALS = {  # (numerator, denominator, at this latency): at least
    ("dispatch", "one-at-a-time", 150): 20,
    ("dispatch", "sdk", 0): 0.8,
    ("batched", "sdk-email", 150): 5,
}


def exactly_once(records: list[dict], expected: set[int], channels: Counter) -> list[str]:
    """What is wrong with the emulator's records of a phase (empty: each message once)."""
    problems = []
    if len(records) != len(expected):
        problems.append(f"the emulator got {len(records)} messages, expected {len(expected)}")
    refused = Counter(r["status"] for r in records if not 200 <= r["status"] < 300)
    if refused:
        problems.append(f"the emulator refused some requests: {dict(refused)}")
    providers = Counter(r["provider"] for r in records)
    wanted = Counter({"sendgrid": channels["email"], "twilio": channels["sms"]}) + Counter()
    if providers != wanted:
        problems.append(f"provider split {dict(providers)}, expected {dict(wanted)}")
    per_message = Counter(message_id_of(r) for r in records)
    if set(per_message) != expected:
        missing, unknown = expected - set(per_message), set(per_message) - expected
        problems.append(
            f"{len(missing)} messages never reached the emulator, {len(unknown)} unknown"
        )
    doubled = sum(1 for count in per_message.values() if count > 1)
    if doubled:
        problems.append(f"{doubled} messages reached the emulator more than once")
    return problems


def rates(n: int, seconds: float, records: list[dict], started_wall: float) -> dict:
    arrivals = sorted(r["at"] for r in records)
    steady = arrivals[-1] - arrivals[0] if len(arrivals) > 1 else 0
    return {
        "messages": n,
        "seconds": round(seconds, 3),
        "per_second": round(n / seconds, 1),
        "first_send_after_seconds": round(arrivals[0] - started_wall, 3) if arrivals else None,
        "per_second_first_to_last_send": round(n / steady, 1) if steady else None,
        "requests": len({r["request"] for r in records}),
    }


def due_delays(records: list[dict], due: dict[int, float], rate: float) -> dict:
    """Delay from each message's due time to its arrival at the emulator."""
    delays = sorted(r["at"] - due[message_id_of(r)] for r in records)
    early = sum(1 for d in delays if d < -0.05)  # clocks are the same machine's
    if early:
        raise BenchError(f"{early} messages reached the provider before they were due")

    def pct(p: float) -> float:
        return round(delays[min(len(delays) - 1, int(p / 100 * len(delays)))], 3)

    arrivals = sorted(r["at"] for r in records)
    return {
        "due_per_second": rate,
        "handed_per_second": round(len(records) / (arrivals[-1] - min(due.values())), 1),
        "delay_p50_seconds": pct(50),
        "delay_p99_seconds": pct(99),
        "delay_max_seconds": round(delays[-1], 3),
    }


def describe(name: str, r: dict) -> str:
    line = (
        f"{name}: {r['messages']} messages in {r['seconds']:.1f} s = {r['per_second']:.0f}/s "
        f"({r['per_second_first_to_last_send'] or 0:.0f}/s from the first send, after "
        f"{r['first_send_after_seconds']:.1f} s, to the last; {r['requests']} requests; "
        f"{r['worker_cpu_ms_per_message']:.2f} ms of CPU a message in the workers, "
        "after their start)"
    )
    if "worker_rss_mb_at_end" in r:
        line += f"; worker RSS {r['worker_rss_mb_at_10_percent']} -> {r['worker_rss_mb_at_end']} MB"
    if "delay_p99_seconds" in r:
        line += (
            f"; due -> provider p50 {r['delay_p50_seconds']:.2f} s, p99 "
            f"{r['delay_p99_seconds']:.2f} s, max {r['delay_max_seconds']:.2f} s at "
            f"{r['due_per_second']:.0f} due/s (handed {r['handed_per_second']:.0f}/s)"
        )
    return line


def _rate(phase: dict) -> float:
    """A phase's rate from its first send to its last; from its start when every message
    went at once (one request: no time between first and last)."""
    return phase["per_second_first_to_last_send"] or phase["per_second"]


def ratios(phases: dict[str, dict], latencies: list[float]) -> list[dict]:
    found = []
    for latency in latencies:
        at = f"@{latency:g}ms"
        for top, bottom in (
            ("dispatch", "sdk"),
            ("dispatch", "one-at-a-time"),
            ("batched", "sdk-email"),
        ):
            if top + at in phases and bottom + at in phases:
                value = _rate(phases[top + at]) / _rate(phases[bottom + at])
                goal = GOALS.get((top, bottom, latency))
                found.append(
                    {"latency_ms": latency, "of": top, "to": bottom, "ratio": round(value, 2)}
                    | ({"goal": goal, "met": value >= goal} if goal else {})
                )
    return found
