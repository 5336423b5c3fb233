"""Settings: every `NARVARO_*` variable of the contract, validated in one place."""

from __future__ import annotations

import hashlib
import os
import re
import socket
from datetime import datetime
from ipaddress import ip_address
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from policy.presets import PRESETS, load_policy
from policy.school_settings import timezone_problem

DEFAULT_DATABASE_URL = "sqlite:///narvaro.db"
PLACEHOLDERS = {"changeme", "change-me", "changethis", "secret", "xxx", "todo"}


class SettingsError(Exception):
    """Settings are invalid; the message is one line per problem, each with a fix."""


def _check_url(value: str | None, name: str, schemes: tuple[str, ...]) -> str | None:
    if value is None or value == "":
        return None
    parsed = urlparse(value)
    if parsed.scheme not in schemes or not parsed.netloc:
        raise ValueError(
            f"{name} must be a URL starting with {' or '.join(s + '://' for s in schemes)} "
            f"and a host, e.g. {schemes[0]}://example.org (got {value!r})"
        )
    return value.rstrip("/")


class Settings(BaseSettings):
    """Närvaro's configuration, read from the environment and an optional `.env` file."""

    model_config = SettingsConfigDict(
        env_prefix="NARVARO_", env_file=".env", extra="ignore", validate_default=True
    )

    database_url: str = DEFAULT_DATABASE_URL
    telegram_token: str | None = None
    telegram_api_url: str = "https://api.telegram.org/bot"
    telegram_mode: str = "polling"
    telegram_rate_limit: float = Field(default=30.0, ge=0)
    #: Messages a second to any one chat at most (Telegram's ceiling); 0 turns it off.
    telegram_chat_rate: float = Field(default=1.0, ge=0)
    #: How long a send waits for Telegram's answer; after that it may have been sent.
    telegram_timeout_seconds: float = Field(default=5.0, gt=0)
    telegram_webhook_secret: str | None = None
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from: str | None = None
    twilio_api_url: str = "https://api.twilio.com"
    #: How long a send waits for Twilio's answer; after that the SMS may have gone out.
    twilio_timeout_seconds: float = Field(default=10.0, gt=0)
    #: SMS a second at most from our sender (the number's or service's throughput); 0: off.
    sms_rate: float = Field(default=10.0, ge=0)
    public_url: str | None = None
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=1, le=65535)
    timezone: str = "Europe/Stockholm"
    policy: str = "ljusnarsberg"
    clock_start: datetime | None = None
    webchat: bool = True
    #: The web chat on a host others can reach: only with this, and then staff sign in with
    #: a one-time link sent to their phone (and act only as themselves).
    webchat_exposed: bool = False
    #: The key that signs sign-in links and sessions; set it (32+ characters) so that a
    #: restart keeps staff signed in and several workers accept each other's links.
    webchat_secret: str | None = None
    #: The staff web overview (classes, a student's timeline, open tasks) at /overview;
    #: staff sign in with a one-time link, and it follows the web chat's rule on hosts.
    overview: bool = True
    demo: bool = True
    api_token: str | None = None
    log_level: str = "INFO"
    dispatch_interval_seconds: float = Field(default=1.0, gt=0)
    #: How often the time-driven sweeps run (notices at the cutoff, reminders, summaries).
    sweep_interval_seconds: float = Field(default=30.0, gt=0)
    #: This process's name in claims; unique per running process (default host:pid).
    worker_id: str | None = Field(default=None, max_length=64)
    #: A worker that has not renewed its claims for this long is taken over.
    claim_lease_seconds: float = Field(default=30.0, ge=1)
    #: Requests in flight at once on one channel; a crash may send each of them twice.
    sends_in_flight: int = Field(default=1, ge=1, le=64)
    #: The school's SS 12000 server (its API base, e.g. https://skolsystem.example.se/v2);
    #: roster and roll call come from it, guardians' reports go back to it.
    ss12000_url: str | None = None
    #: OAuth2 client credentials: the token endpoint, client id and secret (and a scope).
    ss12000_token_url: str | None = None
    ss12000_client_id: str | None = None
    ss12000_client_secret: str | None = None
    ss12000_scope: str | None = None
    #: A client certificate and its key (PEM files), for servers that use mutual TLS.
    ss12000_client_cert: str | None = None
    ss12000_client_key: str | None = None
    #: The school units to follow: school unit codes or organisation ids, comma-separated.
    ss12000_school_units: str = ""
    #: How often to ask for changes (a webhook from the server also starts a sync at once).
    ss12000_poll_seconds: float = Field(default=120.0, gt=0)
    #: Whether guardians' reports are written back as "Anmäld frånvaro".
    ss12000_reports: bool = True

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:", "postgres:")):
            raise ValueError(
                "NARVARO_DATABASE_URL must start with sqlite:/// or postgresql:// "
                f"(got {value.split(':', 1)[0]!r})"
            )
        if value.startswith("postgres:"):
            value = "postgresql:" + value[len("postgres:"):]
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value[len("postgresql://"):]
        return value

    @field_validator("telegram_api_url")
    @classmethod
    def _telegram_api_url(cls, value: str) -> str:
        return _check_url(value, "NARVARO_TELEGRAM_API_URL", ("https", "http")) or value

    @field_validator("telegram_mode")
    @classmethod
    def _telegram_mode(cls, value: str) -> str:
        mode = value.strip().lower()
        if mode not in {"polling", "webhook"}:
            raise ValueError("NARVARO_TELEGRAM_MODE must be polling or webhook")
        return mode

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _telegram_webhook_secret(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", value):
            raise ValueError(
                "NARVARO_TELEGRAM_WEBHOOK_SECRET must be 16-256 characters of A-Z, a-z, 0-9, _ "
                "and - (Telegram's rule for secret_token)"
            )
        return value

    @field_validator("webchat_secret")
    @classmethod
    def _webchat_secret(cls, value: str | None) -> str | None:
        if value is not None and (len(value) < 32 or value.lower() in PLACEHOLDERS):
            raise ValueError("NARVARO_WEBCHAT_SECRET must be at least 32 characters, and not "
                             "a placeholder")
        return value

    @field_validator("ss12000_url", "ss12000_token_url")
    @classmethod
    def _ss12000_urls(cls, value: str | None, info: ValidationInfo) -> str | None:
        return _check_url(value, f"NARVARO_{(info.field_name or '').upper()}", ("https", "http"))

    @field_validator("twilio_api_url")
    @classmethod
    def _twilio_api_url(cls, value: str) -> str:
        return _check_url(value, "NARVARO_TWILIO_API_URL", ("https", "http")) or value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        return _check_url(value, "NARVARO_PUBLIC_URL", ("https", "http"))

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        if problem := timezone_problem(value):
            raise ValueError(f"NARVARO_TIMEZONE {problem}")
        return value

    @field_validator("policy")
    @classmethod
    def _policy(cls, value: str) -> str:
        if value in PRESETS:
            return value
        if Path(value).is_file():
            try:
                load_policy(value)
            except (OSError, ValueError, KeyError, TypeError) as error:
                raise ValueError(
                    f"NARVARO_POLICY file {value!r} is invalid ({error}); "
                    "use keys base, name, title, country, language, "
                    "report_deadline_school_days, report_horizon_days, report_lookback_days, "
                    "reasons, keep_note, mentor_summary_time"
                ) from None
            return value
        raise ValueError(
            f"NARVARO_POLICY {value!r} is neither a preset ({', '.join(sorted(PRESETS))}) "
            "nor an existing policy file"
        )

    @field_validator("clock_start")
    @classmethod
    def _clock_start(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError(
                "NARVARO_CLOCK_START needs a UTC offset, e.g. 2026-11-23T08:20:00+01:00"
            )
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("NARVARO_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")
        return upper

    @property
    def overview_served(self) -> bool:
        """Whether /overview is served: when on, and on loopback or exposed on purpose (on a
        reachable host without NARVARO_WEBCHAT_EXPOSED it stays off, the bot runs)."""
        return self.overview and (self.webchat_exposed or is_loopback(self.http_host))

    @model_validator(mode="after")
    def _credentials(self) -> Settings:
        twilio = {
            "NARVARO_TWILIO_ACCOUNT_SID": self.twilio_account_sid,
            "NARVARO_TWILIO_AUTH_TOKEN": self.twilio_auth_token,
            "NARVARO_TWILIO_FROM": self.twilio_from,
        }
        given = [name for name, value in twilio.items() if value]
        if given and len(given) != len(twilio):
            missing = [name for name in twilio if name not in given]
            raise ValueError(
                f"{' and '.join(given)} set without {' and '.join(missing)}; "
                "set all three Twilio settings, or none to run without SMS"
            )
        if self.twilio_account_sid and not self.twilio_account_sid.startswith("AC"):
            raise ValueError(
                "NARVARO_TWILIO_ACCOUNT_SID must start with 'AC' (see the Twilio console)"
            )
        for name, secret in (
            ("NARVARO_TELEGRAM_TOKEN", self.telegram_token),
            ("NARVARO_TWILIO_AUTH_TOKEN", self.twilio_auth_token),
            ("NARVARO_API_TOKEN", self.api_token),
            ("NARVARO_TELEGRAM_WEBHOOK_SECRET", self.telegram_webhook_secret),
        ):
            if secret is not None and secret.strip().lower() in PLACEHOLDERS:
                raise ValueError(f"{name} is a placeholder ({secret!r}); set the real secret")
        if self.telegram_mode == "webhook" and not (self.telegram_token and self.public_url):
            raise ValueError(
                "NARVARO_TELEGRAM_MODE=webhook needs NARVARO_TELEGRAM_TOKEN and "
                "NARVARO_PUBLIC_URL (the https address Telegram posts updates to)"
            )
        if self.webchat and not self.webchat_exposed and not is_loopback(self.http_host):
            raise ValueError(
                f"NARVARO_WEBCHAT is on and NARVARO_HTTP_HOST {self.http_host!r} is not a "
                "loopback address: the web chat lets anyone act as anyone in the roster. Set "
                "NARVARO_WEBCHAT=0, or NARVARO_HTTP_HOST=127.0.0.1, or NARVARO_WEBCHAT_EXPOSED=1 "
                "(staff then sign in with a one-time link sent to their phone; needs "
                "NARVARO_PUBLIC_URL)"
            )
        if (self.webchat or self.overview) and self.webchat_exposed and not self.public_url:
            raise ValueError("NARVARO_WEBCHAT_EXPOSED=1 needs NARVARO_PUBLIC_URL (the address "
                             "the sign-in links point to)")
        self._ss12000_credentials()
        if self.telegram_token and ":" not in self.telegram_token:
            raise ValueError(
                "NARVARO_TELEGRAM_TOKEN does not look like a bot token (123456:ABC…); "
                "copy it from @BotFather"
            )
        return self

    def _ss12000_credentials(self) -> None:
        if not self.ss12000_url:
            return
        oauth = (self.ss12000_token_url, self.ss12000_client_id, self.ss12000_client_secret)
        if any(oauth) and not all(oauth):
            raise ValueError(
                "NARVARO_SS12000_TOKEN_URL, NARVARO_SS12000_CLIENT_ID and "
                "NARVARO_SS12000_CLIENT_SECRET go together (OAuth2 client credentials)")
        if bool(self.ss12000_client_cert) != bool(self.ss12000_client_key):
            raise ValueError("NARVARO_SS12000_CLIENT_CERT and NARVARO_SS12000_CLIENT_KEY go "
                             "together (the certificate and its key, PEM files)")
        for name, path in (("NARVARO_SS12000_CLIENT_CERT", self.ss12000_client_cert),
                           ("NARVARO_SS12000_CLIENT_KEY", self.ss12000_client_key)):
            if path and not Path(path).is_file():
                raise ValueError(f"{name}: no such file {path!r}")
        if not any(oauth) and not self.ss12000_client_cert:
            raise ValueError(
                "NARVARO_SS12000_URL needs credentials: NARVARO_SS12000_TOKEN_URL, "
                "NARVARO_SS12000_CLIENT_ID and NARVARO_SS12000_CLIENT_SECRET, or "
                "NARVARO_SS12000_CLIENT_CERT and NARVARO_SS12000_CLIENT_KEY")
        secret = self.ss12000_client_secret
        if secret is not None and secret.strip().lower() in PLACEHOLDERS:
            raise ValueError("NARVARO_SS12000_CLIENT_SECRET is a placeholder; set the real "
                             "secret")
        if not self.ss12000_units:
            raise ValueError(
                "NARVARO_SS12000_URL needs NARVARO_SS12000_SCHOOL_UNITS: the school units to "
                "follow, as school unit codes (12345678) or organisation ids, comma-separated")

    @property
    def ss12000_enabled(self) -> bool:
        """True when an SS 12000 server is configured."""
        return bool(self.ss12000_url)

    @property
    def ss12000_units(self) -> list[str]:
        """The school units to follow (codes or organisation ids)."""
        return [unit.strip() for unit in self.ss12000_school_units.split(",") if unit.strip()]

    @property
    def twilio_enabled(self) -> bool:
        """True when SMS can be sent and received."""
        return bool(self.twilio_account_sid and self.twilio_auth_token and self.twilio_from)

    @property
    def telegram_enabled(self) -> bool:
        """True when a Telegram bot token is configured."""
        return bool(self.telegram_token)

    @property
    def webhook_secret(self) -> str:
        """The secret Telegram sends with each webhook call (derived from the token if unset)."""
        if self.telegram_webhook_secret:
            return self.telegram_webhook_secret
        return hashlib.sha256(f"narvaro-webhook:{self.telegram_token}".encode()).hexdigest()[:48]

    @property
    def worker(self) -> str:
        """This process's name in outbox claims."""
        return self.worker_id or f"{socket.gethostname()}:{os.getpid()}"[:64]

    @property
    def web_url(self) -> str:
        """The address sign-in links point to: NARVARO_PUBLIC_URL, else this machine's."""
        if self.public_url:
            return self.public_url
        host = f"[{self.http_host}]" if ":" in self.http_host else self.http_host
        return f"http://{host}:{self.http_port}"

    @property
    def sign_in_url(self) -> str:
        """The address sign-in links point to: the public one when the pages are exposed;
        otherwise this machine's, the only one the local pages are served on."""
        if self.webchat_exposed and self.public_url:
            return self.public_url
        host = f"[{self.http_host}]" if ":" in self.http_host else self.http_host
        return f"http://{host}:{self.http_port}"

    @property
    def zone(self) -> ZoneInfo:
        """The default school time zone."""
        return ZoneInfo(self.timezone)


def is_loopback(host: str) -> bool:
    """Whether `host` is reachable from this machine only (127.0.0.1, ::1, localhost)."""
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _describe(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        message = str(problem.get("msg", "invalid value")).removeprefix("Value error, ")
        location = ".".join(str(part) for part in problem.get("loc", ()))
        if location and "NARVARO_" not in message:
            message = f"NARVARO_{location.upper()}: {message}"
        lines.append(message)
    return "\n".join(lines)


def load_settings(**overrides: object) -> Settings:
    """Build the settings from the environment (and `overrides`), or raise SettingsError."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise SettingsError(_describe(error)) from None
