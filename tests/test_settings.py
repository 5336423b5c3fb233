"""Tests for bot.settings: the NARVARO_* contract, `.env`, and how the CLI reports bad values."""

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.settings import SettingsError, load_settings


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No NARVARO_* variable set, and a working directory without a `.env` file."""
    for name in list(os.environ):
        if name.startswith("NARVARO_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_defaults(env: pytest.MonkeyPatch) -> None:
    """With nothing configured the bot runs on SQLite, locally, in Stockholm, web chat only."""
    settings = load_settings()
    assert settings.database_url.startswith("sqlite:///")
    assert (settings.http_host, settings.http_port) == ("127.0.0.1", 8080)
    assert settings.timezone == "Europe/Stockholm"
    assert settings.zone.key == "Europe/Stockholm"
    assert settings.webchat is True
    assert settings.twilio_enabled is False
    assert settings.telegram_enabled is False
    assert settings.public_url is None
    assert settings.clock_start is None


def test_every_contract_variable_is_read(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each NARVARO_* variable of the contract lands in its setting."""
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text('base = "lyngen"\nlanguage = "en"\n', encoding="utf-8")
    values = {
        "NARVARO_DATABASE_URL": "postgresql://narvaro:pw@db:5432/narvaro",
        "NARVARO_TELEGRAM_TOKEN": "123456:ABC-def",
        "NARVARO_TELEGRAM_API_URL": "http://127.0.0.1:9001/bot",
        "NARVARO_TWILIO_ACCOUNT_SID": "AC0123456789abcdef0123456789abcdef",
        "NARVARO_TWILIO_AUTH_TOKEN": "0123456789abcdef",
        "NARVARO_TWILIO_FROM": "+46701234567",
        "NARVARO_TWILIO_API_URL": "http://127.0.0.1:9002",
        "NARVARO_PUBLIC_URL": "https://narvaro.example.org/",
        "NARVARO_HTTP_HOST": "0.0.0.0",
        "NARVARO_HTTP_PORT": "9000",
        "NARVARO_TIMEZONE": "Europe/Oslo",
        "NARVARO_POLICY": str(policy_file),
        "NARVARO_CLOCK_START": "2026-11-23T08:20:00+01:00",
        "NARVARO_WEBCHAT": "0",
        "NARVARO_OVERVIEW": "0",
    }
    for name, value in values.items():
        env.setenv(name, value)
    settings = load_settings()
    assert settings.database_url == "postgresql+psycopg://narvaro:pw@db:5432/narvaro"
    assert settings.telegram_token == "123456:ABC-def"
    assert settings.telegram_enabled is True
    assert settings.telegram_api_url == "http://127.0.0.1:9001/bot"
    assert settings.twilio_account_sid == "AC0123456789abcdef0123456789abcdef"
    assert settings.twilio_auth_token == "0123456789abcdef"
    assert settings.twilio_from == "+46701234567"
    assert settings.twilio_enabled is True
    assert settings.twilio_api_url == "http://127.0.0.1:9002"
    assert settings.public_url == "https://narvaro.example.org"
    assert (settings.http_host, settings.http_port) == ("0.0.0.0", 9000)
    assert settings.timezone == "Europe/Oslo"
    assert settings.policy == str(policy_file)
    assert settings.clock_start == datetime(2026, 11, 23, 7, 20, tzinfo=UTC)
    assert settings.clock_start.utcoffset() == timedelta(hours=1)
    assert settings.webchat is False


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u@h/d", "postgresql+psycopg://u@h/d"),
        ("postgres://u@h/d", "postgresql+psycopg://u@h/d"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
        ("sqlite:////srv/narvaro.db", "sqlite:////srv/narvaro.db"),
    ],
)
def test_database_url_driver(env: pytest.MonkeyPatch, given: str, expected: str) -> None:
    """PostgreSQL URLs are pointed at the psycopg 3 driver; others are kept as given."""
    env.setenv("NARVARO_DATABASE_URL", given)
    assert load_settings().database_url == expected


def test_policy_preset_name(env: pytest.MonkeyPatch) -> None:
    """NARVARO_POLICY accepts a preset name."""
    env.setenv("NARVARO_POLICY", "lyngen")
    assert load_settings().policy == "lyngen"


def test_dotenv_is_read_and_environment_wins(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A `.env` file in the working directory is read; a real variable overrides it."""
    (tmp_path / ".env").write_text(
        "NARVARO_TIMEZONE=Europe/Copenhagen\nNARVARO_HTTP_PORT=8181\nNARVARO_WEBCHAT=false\n",
        encoding="utf-8",
    )
    settings = load_settings()
    assert (settings.timezone, settings.http_port, settings.webchat) == (
        "Europe/Copenhagen", 8181, False
    )
    env.setenv("NARVARO_HTTP_PORT", "8282")
    assert load_settings().http_port == 8282


def test_one_line_per_problem(env: pytest.MonkeyPatch) -> None:
    """Several bad values give SettingsError with one line naming each variable."""
    env.setenv("NARVARO_TIMEZONE", "Mars/Olympus")
    env.setenv("NARVARO_HTTP_PORT", "70000")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    lines = str(caught.value).splitlines()
    assert len(lines) == 2
    assert any("NARVARO_TIMEZONE" in line for line in lines)
    assert any("NARVARO_HTTP_PORT" in line for line in lines)


@dataclass
class Ran:
    """How a `narvaro tick` ended: exit status and what it printed."""

    returncode: int
    stdout: str
    stderr: str


def _cli_environment(tmp_path: Path, extra: dict[str, str]) -> dict[str, str]:
    return {
        "NARVARO_DATABASE_URL": f"sqlite:///{tmp_path / 'narvaro.db'}",
        "COLUMNS": "80",  # a usual terminal width: error lines must not be wrapped to it
        **extra,
    }


def _run_cli(tmp_path: Path, extra: dict[str, str]) -> Ran:
    """`narvaro tick` as a process of its own, as a user runs it."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("NARVARO_")}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "tick"], cwd=tmp_path,
        env=environ | _cli_environment(tmp_path, extra),
        capture_output=True, text=True, timeout=120, check=False,
    )
    return Ran(result.returncode, result.stdout, result.stderr)


def _run_cli_here(env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
                  extra: dict[str, str]) -> Ran:
    """`narvaro tick` through the console script's own `main`, in this process (what it
    prints and returns; starting a Python for each case costs seconds)."""
    for name, value in _cli_environment(tmp_path, extra).items():
        env.setenv(name, value)
    capsys.readouterr()
    code = main(["tick"])
    captured = capsys.readouterr()
    return Ran(code, captured.out, captured.err)


def test_cli_runs_with_valid_settings(tmp_path: Path) -> None:
    """Control for the error table: the same invocation with good settings succeeds."""
    result = _run_cli(tmp_path, {})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["sent"] == 0


TWILIO_SID = "AC0123456789abcdef0123456789abcdef"
TWILIO_TOKEN = "f00dfeedc0ffee5ecret"
TELEGRAM_TOKEN = "not-a-bot-token-5ecret"


def _rejected(result: Ran, tmp_path: Path, must_say: tuple[str, ...],
              must_not_say: tuple[str, ...]) -> None:
    """Exit 2 with one `narvaro:` line naming the variable and the fix, and nothing else."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("narvaro: ")
    for text in must_say:
        assert text in lines[0]
    for text in must_not_say:
        assert text not in result.stderr
    assert result.stdout == ""
    assert not (tmp_path / "narvaro.db").exists()


@pytest.mark.parametrize(
    ("extra", "files", "must_say", "must_not_say"),
    [
        pytest.param({"NARVARO_TIMEZONE": "Mars/Olympus"}, {},
                     ("NARVARO_TIMEZONE", "Mars/Olympus", "Europe/Stockholm"), (),
                     id="bad-time-zone"),
        pytest.param({"NARVARO_PUBLIC_URL": "not a url"}, {},
                     ("NARVARO_PUBLIC_URL", "https://"), (), id="malformed-url"),
        pytest.param({"NARVARO_TWILIO_ACCOUNT_SID": TWILIO_SID}, {},
                     ("NARVARO_TWILIO_ACCOUNT_SID", "NARVARO_TWILIO_AUTH_TOKEN", "all three"),
                     (TWILIO_SID,), id="twilio-sid-without-token"),
        pytest.param({"NARVARO_TWILIO_AUTH_TOKEN": TWILIO_TOKEN}, {},
                     ("NARVARO_TWILIO_AUTH_TOKEN", "NARVARO_TWILIO_ACCOUNT_SID", "all three"),
                     (TWILIO_TOKEN,), id="twilio-token-without-sid"),
        pytest.param({"NARVARO_POLICY": "atlantis"}, {},
                     ("NARVARO_POLICY", "atlantis", "lyngen"), (), id="unknown-policy"),
        pytest.param({"NARVARO_POLICY": "policy.toml"},
                     {"policy.toml": 'base = "lyngen"\ncolour = "red"\n'},
                     ("NARVARO_POLICY", "colour"), (), id="policy-file-with-unknown-key"),
        pytest.param({"NARVARO_CLOCK_START": "2026-11-23T08:20:00"}, {},
                     ("NARVARO_CLOCK_START", "+01:00"), (), id="naive-clock-start"),
        # Only words from the known placeholder list are echoed, never a real secret.
        pytest.param({"NARVARO_TELEGRAM_TOKEN": "changeme"}, {},
                     ("NARVARO_TELEGRAM_TOKEN", "'changeme'", "set the real secret"), (),
                     id="placeholder-secret"),
        pytest.param({"NARVARO_TELEGRAM_TOKEN": TELEGRAM_TOKEN}, {},
                     ("NARVARO_TELEGRAM_TOKEN", "@BotFather"), (TELEGRAM_TOKEN,),
                     id="malformed-telegram-token"),
    ],
)
def test_cli_rejects_bad_settings(
    env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    extra: dict[str, str],
    files: dict[str, str],
    must_say: tuple[str, ...],
    must_not_say: tuple[str, ...],
) -> None:
    """A bad value exits 2 with one `narvaro:` line naming the variable and the fix."""
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    _rejected(_run_cli_here(env, capsys, tmp_path, extra), tmp_path, must_say, must_not_say)


def test_cli_rejects_bad_settings_as_a_process(tmp_path: Path) -> None:
    """The same from a process of its own in an 80-column terminal: exit status 2 and one
    line on stderr, the secret not in it (the other cases run in-process above)."""
    _rejected(_run_cli(tmp_path, {"NARVARO_TWILIO_ACCOUNT_SID": TWILIO_SID}), tmp_path,
              ("NARVARO_TWILIO_ACCOUNT_SID", "NARVARO_TWILIO_AUTH_TOKEN", "all three"),
              (TWILIO_SID,))
