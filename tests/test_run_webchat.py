"""`narvaro run` end to end: a real process, the demo school, the web chat as a transcript."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.cli import main
from tests.ports import free_port


class Bot:
    """A running `narvaro run` and an HTTP client for its web server."""

    def __init__(self, process: subprocess.Popen[str], base: str) -> None:
        self.process = process
        self.http = httpx.Client(base_url=base, timeout=30)

    def person(self, name: str) -> dict[str, Any]:
        """The roster entry of the one person called `name`."""
        found = self.http.get("/webchat/api/people", params={"q": name}).json()
        assert [p["name"] for p in found] == [name]
        return dict(found[0])

    def say(self, person: dict[str, Any], **body: str) -> list[dict[str, Any]]:
        """Send as `person` and wait for the bot's new answers."""
        before = self.messages(person)
        response = self.http.post(f"/webchat/api/people/{person['id']}/messages", json=body)
        assert response.status_code == 202
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            after = self.messages(person)
            if len(after) > len(before):
                return after[len(before):]
            time.sleep(0.1)
        raise AssertionError("the bot did not answer within 30 s")

    def messages(self, person: dict[str, Any]) -> list[dict[str, Any]]:
        """Everything delivered to `person` in the web chat so far."""
        return list(self.http.get(f"/webchat/api/people/{person['id']}/messages").json())


@pytest.fixture
def bot(tmp_path: Path, database_url: str) -> Iterator[Bot]:
    """`narvaro run` on an empty database, as a user would start it."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NARVARO_")}
    env.update(
        NARVARO_DATABASE_URL=database_url, NARVARO_HTTP_PORT=str(port),
        NARVARO_CLOCK_START="2026-11-23T07:10:00+01:00", NARVARO_DISPATCH_INTERVAL_SECONDS="0.2",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"], cwd=tmp_path, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90  # a busy machine starts Python slowly
    while True:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError("narvaro run did not come up:\n" + process.communicate()[0])
        time.sleep(0.2)
    running = Bot(process, base)
    yield running
    running.http.close()
    if process.poll() is None:
        process.kill()
        process.communicate()


def test_demo_school_answers_in_each_persons_language(bot: Bot) -> None:
    """A Swedish guardian, a Norwegian one and an Arabic one each get the bot in their language."""
    health = bot.http.get("/healthz").json()
    assert health["status"] == "ok" and "webchat" in health["channels"]
    assert health["time"].startswith("2026-11-23T06:1")  # the clock started where we asked
    assert bot.http.get("/").headers["content-type"].startswith("text/html")

    mona = bot.person("Mona Andersson")
    assert mona["language"] == "sv" and mona["children"] == ["Ali Andersson"]
    [greeting] = bot.say(mona, text="hej")
    assert greeting["text"].startswith("Hej Mona! Skriv bara frånvaron")
    assert [c["label"] for c in greeting["choices"]] == [
        "Rapportera frånvaro", "Mina anmälningar", "Dagens frånvaro", "Något oroar mig",
        "Ansök om ledighet", "Hjälp", "Språk"]
    [status] = bot.say(mona, choice="menu:status")
    assert status["text"] == "Ali Andersson: ingen frånvaro registrerad i dag."
    [receipt] = bot.say(mona, text="Ali sjuk idag")
    assert receipt["text"].startswith("Registrerat: Ali frånvarande")
    assert [c["label"] for c in receipt["choices"]][:1] == ["Ångra"]
    [status] = bot.say(mona, choice="menu:status")
    assert status["text"] == "Ali Andersson: anmäld frånvarande i dag."
    [help_text] = bot.say(mona, text="hjälp")
    assert help_text["text"] == "Frågor? Ring Demoskolan på +46701740605."

    norwegian = next(p for p in bot.http.get("/webchat/api/people").json()
                     if p["language"] == "nb" and p["children"])
    [hei] = bot.say(norwegian, text="hei")
    assert hei["text"].startswith("Hei ") and "fravær" in hei["text"]

    arabic = next(p for p in bot.http.get("/webchat/api/people", params={"q": ""}).json()
                  if p["language"] == "ar")
    [marhaba] = bot.say(arabic, text="hello")
    assert marhaba["dir"] == "rtl" and marhaba["text"].startswith("مرحب")

    mentor = bot.person("Anna Mentorsson")
    assert mentor["staff"] == [{"school": "Demoskolan", "role": "mentor"}]
    [reply] = bot.say(mentor, choice="menu:tasks")
    assert reply["text"] == "Du har 0 öppna uppgifter."


def test_bad_web_chat_input_gets_clear_answers(bot: Bot) -> None:
    """Unknown people, empty and oversized messages are refused with a reason, not a crash."""
    assert bot.http.post("/webchat/api/people/99999/messages", json={"text": "x"}).status_code \
        == 404
    mona = bot.person("Mona Andersson")
    url = f"/webchat/api/people/{mona['id']}/messages"
    assert bot.http.post(url, json={"text": "   "}).status_code == 400
    assert bot.http.post(url, content=b"not json", headers={
        "content-type": "application/json"}).status_code == 400
    assert bot.http.post(url, content=b'{"text": "x"}').status_code == 415  # not said JSON
    assert bot.http.post(url, json={"text": "x" * 5000}).status_code == 413
    assert bot.messages(mona) == []
    assert bot.http.get("/healthz").status_code == 200


def test_ctrl_c_stops_cleanly_and_a_restart_keeps_the_data(
    bot: Bot, tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """SIGINT ends the process with status 0; the demo is not loaded twice."""
    mona = bot.person("Mona Andersson")
    bot.say(mona, text="hej")
    bot.process.send_signal(signal.SIGINT)
    output, _ = bot.process.communicate(timeout=30)
    assert bot.process.returncode == 0, output
    assert "Närvaro stopped" in output
    assert "Traceback" not in output
    assert "+46" not in output  # logs carry ids, never phone numbers
    for name in list(os.environ):
        if name.startswith("NARVARO_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("NARVARO_DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["outbox", "list", "--json"]) == 0  # the command, in this process
    listing = capsys.readouterr().out
    assert '"channel": "webchat"' in listing
    assert '"status": "delivered"' in listing


def test_sigterm_stops_as_cleanly_as_ctrl_c(bot: Bot) -> None:
    """A service manager's SIGTERM: every part is stopped in order, status 0."""
    bot.process.send_signal(signal.SIGTERM)
    output, _ = bot.process.communicate(timeout=30)
    assert bot.process.returncode == 0, output
    assert "Närvaro stopped" in output
    assert "Traceback" not in output
