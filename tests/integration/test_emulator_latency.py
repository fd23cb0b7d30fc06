"""The provider emulator's latency (fixed or jittered, calls in flight waiting in parallel) and
its SendGrid requests with many personalizations (one record per message)."""

import threading
import time

import pytest
import requests

from tests.support.emulator import ProviderEmulator


def twilio_url(emu):
    return f"{emu.url}/2010-04-01/Accounts/{emu.twilio_account_sid}/Messages.json"


def text(emu, session, to="+14155550100", callback="https://f.test/status?m=1"):
    return session.post(
        twilio_url(emu),
        data={"To": to, "From": "+14155550199", "Body": "Hi", "StatusCallback": callback},
        auth=(emu.twilio_account_sid, emu.twilio_auth_token),
        timeout=30,
    )


def session():
    s = requests.Session()
    s.trust_env = False  # loopback: never through a proxy from the environment
    return s


def test_calls_in_flight_wait_their_latency_in_parallel(emulator):
    """20 calls on 20 keep-alive connections all reach the emulator before the first answer."""
    calls = 20
    # The warm-up calls (one connection each) answer at once; when all are done, the timed
    # calls wait 800 ms each.
    barrier = threading.Barrier(calls, action=lambda: emulator.set_latency(800))
    answered: list[float] = []
    statuses: list[int] = []

    def call(i: int) -> None:
        with session() as s:
            text(emulator, s, callback=f"https://f.test/status?m={i}")
            barrier.wait()
            response = text(emulator, s, to=f"+1415555{i:04d}")
            answered.append(time.time())
            statuses.append(response.status_code)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert statuses == [201] * calls
    timed = [r for r in emulator.requests("twilio") if r["recipient"].startswith("+1415555")]
    timed = [r for r in timed if r["delay_ms"] == 800]
    assert len(timed) == calls
    # Overlap: every call had arrived before the first one was answered (one at a time,
    # the last would have arrived 19 latencies after the first answer).
    assert max(r["at"] for r in timed) < min(answered)
    assert min(answered) - min(r["at"] for r in timed) >= 0.8 - 0.01


def test_jitter_spreads_delays_around_the_latency():
    with ProviderEmulator("SG.k", "AC" + "2" * 32, "tok", latency_ms=60, jitter_ms=40) as emu:
        assert emu.latency() == {"latency_ms": 60, "jitter_ms": 40}
        with session() as s:
            for i in range(12):
                started = time.perf_counter()
                assert text(emu, s, to=f"+1415555{i:04d}").status_code == 201
                elapsed_ms = (time.perf_counter() - started) * 1000
                assert elapsed_ms >= emu.requests()[-1]["delay_ms"] - 1
        delays = [r["delay_ms"] for r in emu.requests()]
    assert all(20 <= d <= 100 for d in delays)
    assert len(set(delays)) > 1


def test_a_fault_latency_adds_to_the_standing_latency(emulator, http):
    emulator.set_latency(30)
    emulator.set_faults(latency_ms=50, times=1)
    text(emulator, http)
    text(emulator, http)
    emulator.reset()  # records and faults go; the latency stays
    text(emulator, http)
    assert [r["delay_ms"] for r in emulator.requests()] == [30]
    assert emulator.latency()["latency_ms"] == 30


def test_latency_over_http_and_its_checks(emulator, http):
    control = f"{emulator.url}/_emulator/latency"
    assert http.post(control, json={"latency_ms": 150, "jitter_ms": 50}).json() == {
        "latency_ms": 150,
        "jitter_ms": 50,
    }
    assert http.get(control).json()["latency_ms"] == 150
    for bad in ({"latency_ms": 10, "jitter_ms": 20}, {"latency_ms": -1}, {"latency": 5}):
        assert http.post(control, json=bad).status_code == 400
    with pytest.raises(ValueError):
        ProviderEmulator("SG.k", "AC" + "2" * 32, "tok", latency_ms=5, jitter_ms=6)


def mail(personalizations: int) -> dict:
    return {
        "from": {"email": "support@acme.test"},
        "subject": "Thanks, {{name}}",
        "content": [{"type": "text/plain", "value": "Hi {{name}}"}],
        "custom_args": {"followup_step": "thank-you", "followup_message_id": "0"},
        "personalizations": [
            {
                "to": [{"email": f"c{i}@example.com"}],
                "substitutions": {"{{name}}": f"Customer {i}"},
                "custom_args": {"followup_message_id": str(1000 + i)},
            }
            for i in range(personalizations)
        ],
    }


def test_sendgrid_batch_gives_one_record_per_personalization(emulator, http):
    headers = {"Authorization": f"Bearer {emulator.sendgrid_api_key}"}
    url = f"{emulator.url}/v3/mail/send"
    assert http.post(url, json=mail(1000), headers=headers).status_code == 202
    records = emulator.requests("sendgrid")
    assert len(records) == 1000
    assert {r["request"] for r in records} == {records[0]["request"]}
    assert len({r["provider_id"] for r in records}) == 1
    assert [r["custom_args"]["followup_message_id"] for r in records] == [
        str(1000 + i) for i in range(1000)
    ]
    assert records[7]["custom_args"]["followup_step"] == "thank-you"  # the body's, merged
    assert (records[7]["personalization"], records[7]["recipient"]) == (7, "c7@example.com")

    emulator.reset()
    too_many = http.post(url, json=mail(1001), headers=headers)
    assert too_many.status_code == 400
    assert too_many.json()["errors"][0]["field"] == "personalizations"
    bad = mail(2)
    bad["personalizations"][1]["custom_args"]["followup_message_id"] = 7
    answer = http.post(url, json=bad, headers=headers)
    assert answer.status_code == 400
    assert (
        answer.json()["errors"][0]["field"] == "personalizations.1.custom_args.followup_message_id"
    )


def test_records_without_bodies_keep_what_identifies_a_message(http):
    with ProviderEmulator("SG.k", "AC" + "2" * 32, "tok", keep_bodies=False) as emu:
        text(emu, http, callback="https://f.test/status?m=9")
        assert emu.count() == 1
        [rec] = emu.requests()
    assert rec["body"] is None and rec["raw"] is None and rec["headers"] is None
    assert rec["status_callback"] == "https://f.test/status?m=9"
    assert rec["recipient"] == "+14155550100"
