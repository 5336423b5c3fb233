"""A local fake of the Telegram Bot API server, for tests and benchmarks.

`FakeTelegram` serves the Bot API over HTTP on 127.0.0.1 (starlette + uvicorn in a daemon
thread with its own event loop), so the real python-telegram-bot talks to it through
`base_url`, whether the bot runs in the test's event loop or in a subprocess. Requests are
validated like the real server does it, driven by `telegram_spec.json` (a trimmed copy of the
telegram-bot-api-spec scrape of the official docs) plus the rules the docs state in prose
(text length, callback_data size, one action per inline button, parse modes, ...).

The test side plays the users (`fake.add_user(...)` → `FakeUser.send/share_contact/tap/...`)
and reads what the bot did (`fake.messages`, `await fake.next_message`, `fake.calls`).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import copy
import email.parser
import email.policy
import functools
import json
import re
import socket
import struct
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import EllipsisType
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

__all__ = [
    "DEFAULT_TOKEN",
    "SPEC_PATH",
    "BotMessage",
    "Call",
    "FakeTelegram",
    "FakeUser",
    "LocalServer",
    "MessageVersion",
    "RateLimits",
    "UploadedFile",
    "WebhookDelivery",
    "check_against_spec",
    "find_free_port",
    "format_text",
]

JSON = dict[str, Any]
T = TypeVar("T")

DEFAULT_TOKEN = "123456:TEST-token"
SPEC_PATH = Path(__file__).with_name("telegram_spec.json")

MAX_TEXT_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200
FIRST_UPDATE_ID = 810_000_001
# Telegram leaves these out unless a bot asks for them explicitly.
OPT_IN_UPDATE_TYPES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
        "upload_document", "choose_sticker", "find_location", "record_video_note",
        "upload_video_note",
    }
)
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
GETUPDATES_WHILE_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
    "the webhook first"
)
GETUPDATES_TERMINATED = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is "
    "running"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
# Whitespace Telegram trims from both ends of a message text.
TRIMMED = " \t\r\n\v\0"


class ApiError(Exception):
    """An error answer of the Bot API: HTTP status `code` and Telegram's `description`."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


# ---------------------------------------------------------------------------------------------
# The spec: request validation and response checking
# ---------------------------------------------------------------------------------------------

SCALARS = frozenset({"Integer", "String", "Boolean", "Float", "True", "InputFile"})
INTEGER_RE = re.compile(r"-?\d+")
DISCRIMINATOR_RE = re.compile(r'(?:must be|always) "?([a-z_]+)"?\s*$')


class _Violation(Exception):
    """A JSON value that does not fit its spec type (`type_name` is the innermost object)."""

    def __init__(self, type_name: str | None, detail: str) -> None:
        super().__init__(detail)
        self.type_name = type_name
        self.detail = detail

    def as_api_error(self) -> ApiError:
        if self.type_name:
            return _bad(f"can't parse {self.type_name}: {self.detail}")
        return _bad(self.detail)


class _Spec:
    """The trimmed Bot API spec with a structural validator over its types."""

    def __init__(self, data: JSON) -> None:
        self.version: str = data["version"]
        self.methods: dict[str, JSON] = data["methods"]
        self.types: dict[str, JSON] = data["types"]
        self.all_method_names: frozenset[str] = frozenset(data.get("method_names", ()))
        self.rules: dict[str, Callable[[JSON], None]] = {}

    def fields(self, type_name: str) -> list[JSON]:
        return list(self.types.get(type_name, {}).get("fields", []))

    def check(self, value: Any, types: list[str], name: str, strict: bool = False) -> Any:
        """`value` checked against a union of spec types; returns it without unknown fields."""
        if len(types) == 1:
            return self._check_one(value, types[0], name, strict)
        objects = [t for t in types if self.fields(t)]
        if isinstance(value, dict) and len(objects) > 1:
            # A union of objects (reply_markup): pick by the required fields present.
            for candidate in objects:
                required = [f["name"] for f in self.fields(candidate) if f["required"]]
                if all(key in value for key in required):
                    return self._check_one(value, candidate, name, strict)
            raise _Violation(None, f'field "{name}" must be one of {", ".join(objects)}')
        violations: list[_Violation] = []
        for candidate in types:
            try:
                return self._check_one(value, candidate, name, strict)
            except _Violation as violation:
                violations.append(violation)
        raise violations[0]

    def _check_one(self, value: Any, type_name: str, name: str, strict: bool) -> Any:
        if type_name.startswith("Array of "):
            if not isinstance(value, list):
                raise _Violation(None, f'Field "{name}" must be of type {type_name}')
            item = type_name.removeprefix("Array of ")
            return [self._check_one(element, item, name, strict) for element in value]
        if type_name in SCALARS:
            return self._check_scalar(value, type_name, name)
        spec = self.types.get(type_name)
        if spec is None:
            return value
        if type_name == "KeyboardButton" and isinstance(value, str) and not strict:
            value = {"text": value}  # the server accepts plain strings as text buttons
        if not isinstance(value, dict):
            raise _Violation(None, f'Field "{name}" must be of type {type_name}')
        subtypes: list[str] = spec.get("subtypes", [])
        if subtypes:
            return self._check_subtypes(value, type_name, subtypes, strict)
        return self._check_object(value, type_name, strict)

    def _check_subtypes(
        self, value: JSON, type_name: str, subtypes: list[str], strict: bool
    ) -> Any:
        undiscriminated: list[str] = []
        for subtype in subtypes:
            tag = self._discriminator(subtype)
            if tag is None:
                undiscriminated.append(subtype)
            elif value.get(tag[0]) == tag[1]:
                return self._check_object(value, subtype, strict)
        violations: list[_Violation] = []
        for subtype in undiscriminated:
            try:
                return self._check_object(value, subtype, strict)
            except _Violation as violation:
                violations.append(violation)
        if violations:
            raise violations[0]
        raise _Violation(type_name, f"unsupported {type_name} {json.dumps(value)}")

    @functools.cache  # noqa: B019 - one _Spec lives as long as the process
    def _discriminator(self, type_name: str) -> tuple[str, str] | None:
        for spec_field in self.fields(type_name):
            match = DISCRIMINATOR_RE.search(spec_field.get("description", ""))
            if spec_field["required"] and spec_field["types"] == ["String"] and match:
                return spec_field["name"], match.group(1)
        return None

    def _check_object(self, value: JSON, type_name: str, strict: bool) -> JSON:
        known = self.fields(type_name)
        out: JSON = {}
        for spec_field in known:
            field_name = spec_field["name"]
            if field_name not in value:
                if spec_field["required"]:
                    raise _Violation(type_name, f'Can\'t find field "{field_name}"')
                continue
            try:
                out[field_name] = self.check(value[field_name], spec_field["types"], field_name,
                                             strict)
            except _Violation as violation:
                if violation.type_name is None:
                    violation.type_name = type_name
                raise
        if strict:
            unknown = sorted(set(value) - {f["name"] for f in known})
            if unknown:
                raise _Violation(type_name, f"unknown fields {unknown}")
        elif type_name in self.rules:
            self.rules[type_name](out)
        return out

    @staticmethod
    def _check_scalar(value: Any, type_name: str, name: str) -> Any:
        wrong = _Violation(None, f'Field "{name}" must be of type {type_name}')
        if type_name == "Integer":
            if isinstance(value, bool):
                raise wrong
            if isinstance(value, int):
                return value
            if isinstance(value, str) and INTEGER_RE.fullmatch(value):
                return int(value)
            raise wrong
        if type_name == "Float":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise wrong
            return value
        if type_name == "Boolean":
            if not isinstance(value, bool):
                raise wrong
            return value
        if type_name == "True":
            if value is not True:
                raise _Violation(None, f'Field "{name}" must be true')
            return value
        if not isinstance(value, str):
            raise wrong
        return value


@functools.cache
def load_spec() -> _Spec:
    """The trimmed spec next to this module (never the shared full copy: CI does not have it)."""
    spec = _Spec(json.loads(SPEC_PATH.read_text(encoding="utf-8")))
    spec.rules.update(
        {
            "InlineKeyboardButton": _inline_button_rules,
            "KeyboardButton": _keyboard_button_rules,
            "ReplyKeyboardRemove": _true_field_rule("remove_keyboard"),
            "ForceReply": _true_field_rule("force_reply"),
            "BotCommand": _bot_command_rules,
        }
    )
    return spec


def check_against_spec(value: Any, type_name: str, *, strict: bool = True) -> None:
    """Assert that `value` is a valid `type_name` of the spec (strict: no unknown fields)."""
    try:
        load_spec().check(value, [type_name], type_name, strict=strict)
    except _Violation as violation:
        description = violation.as_api_error().description
        raise AssertionError(f"not a valid {type_name}: {description}") from None


# Fields of InlineKeyboardButton that are decoration, not the button's single action.
NON_ACTION_BUTTON_FIELDS = frozenset({"text", "icon_custom_emoji_id", "style"})
KEYBOARD_REQUEST_FIELDS = (
    "request_users", "request_chat", "request_managed_bot", "request_contact",
    "request_location", "request_poll", "web_app",
)
BOT_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")


def _inline_button_rules(button: JSON) -> None:
    if not button["text"]:
        raise _bad("BUTTON_TEXT_INVALID")
    actions = [key for key in button if key not in NON_ACTION_BUTTON_FIELDS]
    if not actions:
        raise _bad(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if len(actions) > 1:
        raise _bad(
            "can't parse inline keyboard button: exactly one of the optional fields must be "
            f"used, got {', '.join(actions)}"
        )
    if "callback_data" in button:
        size = len(button["callback_data"].encode())
        if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
            raise _bad("BUTTON_DATA_INVALID")
    if "url" in button:
        url = urlsplit(button["url"])
        if url.scheme not in ("http", "https", "tg") or not url.netloc:
            raise _bad("BUTTON_URL_INVALID")


def _keyboard_button_rules(button: JSON) -> None:
    if not button["text"]:
        raise _bad("BUTTON_TEXT_INVALID")
    requests = [key for key in KEYBOARD_REQUEST_FIELDS if button.get(key) not in (None, False)]
    if len(requests) > 1:
        raise _bad(
            "can't parse keyboard button: only one of the optional fields can be used, got "
            f"{', '.join(requests)}"
        )


def _true_field_rule(field_name: str) -> Callable[[JSON], None]:
    def rule(markup: JSON) -> None:
        if markup[field_name] is not True:
            raise _bad(f'can\'t parse reply keyboard markup: field "{field_name}" must be true')

    return rule


def _bot_command_rules(command: JSON) -> None:
    if not BOT_COMMAND_RE.fullmatch(command["command"]):
        raise _bad("BOT_COMMAND_INVALID")
    if not 1 <= len(command["description"]) <= 256:
        raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")


# ---------------------------------------------------------------------------------------------
# Message text: parse modes, entities, trimming, length
# ---------------------------------------------------------------------------------------------


def _u16(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode())


class _Out:
    """Plain text being assembled, with its length in UTF-16 units."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.length += _u16(text)

    def text(self) -> str:
        return "".join(self.parts)


def _entities_error(detail: str) -> ApiError:
    return _bad(f"can't parse entities: {detail}")


HTML_TAGS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "tg-spoiler": "spoiler", "span": "spoiler", "a": "text_link", "code": "code", "pre": "pre",
    "blockquote": "blockquote", "tg-emoji": "custom_emoji", "tg-time": "date_time",
}
HTML_ENTITY_RE = re.compile(r"&(#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z]+);")
HTML_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
HTML_ATTRIBUTE_RE = re.compile(r"""([^\s=>"']+)\s*(?:=\s*("[^"]*"|'[^']*'|[^\s>"']+))?""")


def _html_unescape(text: str) -> str:
    def decode(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith(("#x", "#X")):
            return chr(int(name[2:], 16))
        if name.startswith("#"):
            return chr(int(name[1:]))
        return HTML_NAMED.get(name, match.group(0))  # Telegram keeps other names as text

    return HTML_ENTITY_RE.sub(decode, text)


@dataclass
class _OpenTag:
    name: str
    start: int
    attributes: dict[str, str]
    language: str | None = None


def _parse_html(text: str) -> tuple[str, list[JSON]]:
    """Telegram's HTML parse mode: plain text and entities, or the server's parse error."""
    out = _Out()
    stack: list[_OpenTag] = []
    entities: list[JSON] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "&":
            match = HTML_ENTITY_RE.match(text, i)
            if match:
                out.add(_html_unescape(match.group(0)))
                i = match.end()
                continue
        if char != "<":
            out.add(char)
            i += 1
            continue
        offset = _byte_offset(text, i)
        if text.startswith("</", i):
            end = text.find(">", i)
            if end < 0:
                raise _entities_error(f"Unclosed end tag at byte offset {offset}")
            name = text[i + 2 : end].strip().lower()
            if not stack:
                raise _entities_error(f"Unexpected end tag at byte offset {offset}")
            tag = stack.pop()
            if name != tag.name:
                raise _entities_error(
                    f'Unmatched end tag at byte offset {offset}, expected "</{tag.name}>", found '
                    f'"</{name}>"'
                )
            _close_html_tag(tag, out.length, stack, entities)
            i = end + 1
            continue
        j = i + 1
        while j < n and not text[j].isspace() and text[j] != ">":
            j += 1
        name = text[i + 1 : j].lower()
        if name not in HTML_TAGS:
            raise _entities_error(f'Unsupported start tag "{name}" at byte offset {offset}')
        end = j
        attributes: dict[str, str] = {}
        while True:
            while end < n and text[end].isspace():
                end += 1
            if end < n and text[end] == ">":
                break
            match = HTML_ATTRIBUTE_RE.match(text, end)
            if end >= n or not match:
                raise _entities_error(f"Unclosed start tag at byte offset {offset}")
            raw = match.group(2) or ""
            if raw[:1] in ("'", '"'):
                raw = raw[1:-1]
            attributes[match.group(1).lower()] = _html_unescape(raw)
            end = match.end()
        if name == "span" and attributes.get("class") != "tg-spoiler":
            raise _entities_error('Tag "span" must have class "tg-spoiler"')
        stack.append(_OpenTag(name, out.length, attributes))
        i = end + 1
    if stack:
        raise _entities_error(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    return out.text(), entities


def _close_html_tag(tag: _OpenTag, end: int, stack: list[_OpenTag], entities: list[JSON]) -> None:
    css_class = tag.attributes.get("class", "")
    inside_pre = tag.name == "code" and stack and stack[-1].name == "pre"
    if inside_pre and css_class.startswith("language-"):
        stack[-1].language = css_class.removeprefix("language-")
        return
    length = end - tag.start
    if length <= 0:
        return
    entity: JSON = {"type": HTML_TAGS[tag.name], "offset": tag.start, "length": length}
    if tag.name == "a":
        href = tag.attributes.get("href", "")
        if not href:
            return
        entity["url"] = href
    elif tag.name == "pre" and tag.language:
        entity["language"] = tag.language
    elif tag.name == "blockquote" and "expandable" in tag.attributes:
        entity["type"] = "expandable_blockquote"
    elif tag.name == "tg-emoji":
        entity["custom_emoji_id"] = tag.attributes.get("emoji-id", "")
    elif tag.name == "tg-time":
        entity["unix_time"] = int(tag.attributes.get("unix", "0") or 0)
        if tag.attributes.get("format"):
            entity["date_time_format"] = tag.attributes["format"]
    entities.append(entity)


MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
MDV2_NAMES = {
    "bold": "Bold", "italic": "Italic", "underline": "Underline",
    "strikethrough": "Strikethrough", "spoiler": "Spoiler", "code": "Code", "pre": "Pre",
    "text_link": "TextUrl", "custom_emoji": "CustomEmoji",
}


@dataclass
class _OpenMark:
    kind: str
    start: int
    offset: int
    language: str | None = None


def _parse_markdown_v2(text: str) -> tuple[str, list[JSON]]:
    """Telegram's MarkdownV2 parse mode, including its 'reserved character' errors."""
    out = _Out()
    stack: list[_OpenMark] = []
    entities: list[JSON] = []
    quote_start: int | None = None
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        top = stack[-1] if stack else None
        if char == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
            out.add(text[i + 1])
            i += 2
            continue
        if top is not None and top.kind in ("code", "pre"):
            fence = "```" if top.kind == "pre" else "`"
            if text.startswith(fence, i):
                stack.pop()
                _add_mark_entity(top, out.length, entities)
                i += len(fence)
            else:
                out.add(char)
                i += 1
            continue
        if char == "\n" and quote_start is not None and not text.startswith(">", i + 1):
            entities.append({"type": "blockquote", "offset": quote_start,
                             "length": out.length - quote_start})
            quote_start = None
        if char not in MDV2_RESERVED:
            out.add(char)
            i += 1
            continue
        offset = _byte_offset(text, i)
        if char == ">" and (i == 0 or text[i - 1] == "\n"):
            if quote_start is None:
                quote_start = out.length
            i += 1
            continue
        if char == "]" and top is not None and top.kind in ("text_link", "custom_emoji"):
            i = _close_markdown_link(text, i, top, out.length, entities)
            stack.pop()
            continue
        kind, width = _markdown_v2_mark(text, i)
        if kind is None:
            raise _entities_error(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        i += width
        if kind in ("text_link", "custom_emoji"):
            stack.append(_OpenMark(kind, out.length, offset))
        elif top is not None and top.kind == kind:
            stack.pop()
            _add_mark_entity(top, out.length, entities)
        else:
            mark = _OpenMark(kind, out.length, offset)
            if kind == "pre":
                newline = text.find("\n", i)
                closing = text.find("```", i)
                first_line = text[i:newline] if newline >= 0 else ""
                if newline >= 0 and (closing < 0 or newline < closing) and " " not in first_line:
                    mark.language = first_line or None
                    i = newline + 1
            stack.append(mark)
    if stack:
        mark = stack[-1]
        raise _entities_error(
            f"Can't find end of {MDV2_NAMES[mark.kind]} entity at byte offset {mark.offset}"
        )
    if quote_start is not None and out.length > quote_start:
        entities.append({"type": "blockquote", "offset": quote_start,
                         "length": out.length - quote_start})
    return out.text(), entities


def _markdown_v2_mark(text: str, i: int) -> tuple[str | None, int]:
    char = text[i]
    if char == "*":
        return "bold", 1
    if char == "_":
        return ("underline", 2) if text.startswith("__", i) else ("italic", 1)
    if char == "~":
        return "strikethrough", 1
    if char == "|" and text.startswith("||", i):
        return "spoiler", 2
    if char == "`":
        return ("pre", 3) if text.startswith("```", i) else ("code", 1)
    if char == "[":
        return "text_link", 1
    if char == "!" and text.startswith("![", i):
        return "custom_emoji", 2
    return None, 1


def _close_markdown_link(
    text: str, i: int, mark: _OpenMark, end: int, entities: list[JSON]
) -> int:
    if not text.startswith("(", i + 1):
        return i + 1
    url: list[str] = []
    j = i + 2
    while j < len(text) and text[j] != ")":
        if text[j] == "\\" and j + 1 < len(text):
            j += 1
        url.append(text[j])
        j += 1
    if j >= len(text):
        raise _entities_error(f"Can't find end of a URL at byte offset {_byte_offset(text, i)}")
    target = "".join(url)
    if end > mark.start and target:
        if mark.kind == "custom_emoji":
            emoji_id = target.partition("id=")[2]
            entities.append({"type": "custom_emoji", "offset": mark.start,
                             "length": end - mark.start, "custom_emoji_id": emoji_id})
        else:
            entities.append({"type": "text_link", "offset": mark.start,
                             "length": end - mark.start, "url": target})
    return j + 1


def _add_mark_entity(mark: _OpenMark, end: int, entities: list[JSON]) -> None:
    if end > mark.start:
        entity: JSON = {"type": mark.kind, "offset": mark.start, "length": end - mark.start}
        if mark.language:
            entity["language"] = mark.language
        entities.append(entity)


LEGACY_MARKS = {"*": "bold", "_": "italic", "`": "code"}


def _parse_markdown(text: str) -> tuple[str, list[JSON]]:
    """Telegram's legacy Markdown parse mode (no nesting, few escapes)."""
    out = _Out()
    entities: list[JSON] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.add(text[i + 1])
            i += 2
            continue
        if char not in "_*`[":
            out.add(char)
            i += 1
            continue
        unclosed = _entities_error(
            f"Can't find end of the entity starting at byte offset {_byte_offset(text, i)}"
        )
        start = out.length
        if char == "[":
            close = text.find("]", i + 1)
            if close < 0:
                raise unclosed
            out.add(text[i + 1 : close])
            i = close + 1
            if text.startswith("(", i):
                url_end = text.find(")", i)
                if url_end < 0:
                    raise unclosed
                url = text[i + 1 : url_end]
                if url and out.length > start:
                    entities.append({"type": "text_link", "offset": start,
                                     "length": out.length - start, "url": url})
                i = url_end + 1
            continue
        fence = "```" if text.startswith("```", i) else char
        close = text.find(fence, i + len(fence))
        if close < 0:
            raise unclosed
        inner = text[i + len(fence) : close]
        entity: JSON = {"type": "pre" if fence == "```" else LEGACY_MARKS[char]}
        if fence == "```" and "\n" in inner and " " not in inner.partition("\n")[0]:
            language, _, inner = inner.partition("\n")
            if language:
                entity["language"] = language
        out.add(inner)
        if out.length > start:
            entities.append({**entity, "offset": start, "length": out.length - start})
        i = close + len(fence)
    return out.text(), entities


PARSE_MODES: dict[str, Callable[[str], tuple[str, list[JSON]]]] = {
    "html": _parse_html,
    "markdownv2": _parse_markdown_v2,
    "markdown": _parse_markdown,
}


def format_text(
    text: str, parse_mode: str | None = None, entities: list[JSON] | None = None
) -> tuple[str, list[JSON]]:
    """What Telegram stores for a message text: (plain text, entities), trimmed and checked.

    Raises ApiError with the server's description when the text is empty, too long, or does not
    parse in `parse_mode`. Lengths count characters after entity parsing, like the server.
    """
    if entities is not None:
        plain, found = text, [dict(entity) for entity in entities]
    elif parse_mode:
        parser = PARSE_MODES.get(parse_mode.lower())
        if parser is None:
            raise _bad("unsupported parse_mode")
        plain, found = parser(text)
    else:
        plain, found = text, []
    stripped = plain.strip(TRIMMED)
    if not stripped:
        raise _bad("message text is empty")
    if len(stripped) > MAX_TEXT_LENGTH:
        raise _bad("message is too long")
    shift = _u16(plain[: len(plain) - len(plain.lstrip(TRIMMED))])
    total = _u16(stripped)
    kept: list[JSON] = []
    for entity in found:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, total)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    kept.sort(key=lambda entity: (entity["offset"], -entity["length"]))
    return stripped, kept


COMMAND_RE = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")


def _command_entities(text: str) -> list[JSON]:
    return [
        {"type": "bot_command", "offset": _u16(text[: match.start()]),
         "length": _u16(match.group(0))}
        for match in COMMAND_RE.finditer(text)
    ]


# ---------------------------------------------------------------------------------------------
# What the test side reads
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One request the fake answered: the Bot API method, its decoded parameters, the outcome.

    `params` are typed after validation (ints, bools, parsed JSON objects); when validation
    failed they are the raw strings. `time` is wall-clock (time.time()) at arrival.
    `abandoned`: a getUpdates whose client hung up before the answer (PTB cancels its long
    poll on shutdown; the next getUpdates then ends it with 409, as on the real server).
    """

    method: str
    params: JSON
    time: float
    duration: float
    status: int
    error: str | None = None
    source: str = "http"
    abandoned: bool = False


@dataclass(frozen=True)
class RateLimits:
    """The flood limits the fake enforces on sendMessage (see `FakeTelegram.limit_rate`)."""

    overall: float
    per_chat: float
    tolerance: float


def _too_many(retry_after: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {retry_after}",
                    {"retry_after": retry_after})


@dataclass(frozen=True)
class MessageVersion:
    """One state of a bot message: as sent, or after an edit."""

    text: str
    entities: list[JSON]
    reply_markup: JSON | None
    date: int


@dataclass
class BotMessage:
    """A message the bot sent, in its current state (text and markup after any edits).

    `text` is what the user sees (after parse_mode, trimmed); `history` holds every version,
    oldest first, the last one being the current.
    """

    message_id: int
    chat_id: int
    text: str
    reply_markup: JSON | None
    date: int
    entities: list[JSON] = field(default_factory=list)
    edited: bool = False
    edit_date: int | None = None
    parse_mode: str | None = None
    history: list[MessageVersion] = field(default_factory=list)
    #: A photo the bot sent (sendPhoto): the PNG or JPEG bytes uploaded; `text` is its caption.
    photo: bytes | None = None

    @property
    def buttons(self) -> list[str]:
        """Labels of the attached keyboard, inline or reply, row by row."""
        return [str(button["text"]) for button in self._keyboard()]

    @property
    def callback_data(self) -> dict[str, str]:
        """Inline button label → callback_data, for buttons that have one."""
        return {
            str(button["text"]): str(button["callback_data"])
            for button in self._keyboard()
            if "callback_data" in button
        }

    @property
    def request_contact(self) -> bool:
        """Whether a reply-keyboard button asks for the user's phone number."""
        return any(button.get("request_contact") is True for button in self._keyboard())

    @property
    def inline(self) -> bool:
        """Whether an inline keyboard is attached."""
        return bool(self.reply_markup and "inline_keyboard" in self.reply_markup)

    def _keyboard(self) -> list[JSON]:
        markup = self.reply_markup or {}
        rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
        return [
            button if isinstance(button, dict) else {"text": button}
            for row in rows
            for button in row
        ]


@dataclass(frozen=True)
class WebhookDelivery:
    """One attempt to POST an update to the webhook."""

    update_id: int
    url: str
    status: int | None
    error: str | None
    time: float


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request (e.g. setWebhook's certificate)."""

    filename: str
    content: bytes


@dataclass
class _Webhook:
    url: str
    secret_token: str | None
    max_connections: int
    ip_address: str | None
    has_custom_certificate: bool
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class _CallbackQuery:
    chat_id: int
    message_id: int
    answer: JSON | None = None


@dataclass
class _Chat:
    user: JSON
    chat: JSON
    phone_number: str | None = None
    started: bool = False
    blocked: bool = False
    next_message_id: int = 1
    user_messages: dict[int, JSON] = field(default_factory=dict)
    bot_messages: list[BotMessage] = field(default_factory=list)
    bot_by_id: dict[int, BotMessage] = field(default_factory=dict)
    consumed: int = 0
    reply_keyboard: JSON | None = None


def _snapshot(message: BotMessage) -> BotMessage:
    return copy.deepcopy(message)


@dataclass
class _Request:
    """A request being answered; recorded as a Call exactly once."""

    method: str
    params: JSON
    started: float
    clock: float
    source: str = "http"
    recorded: bool = False


# The request the current task answers (uvicorn runs each request in a task of its own).
_CURRENT_REQUEST: contextvars.ContextVar[_Request | None] = contextvars.ContextVar(
    "fake_telegram_request", default=None
)


# ---------------------------------------------------------------------------------------------
# A uvicorn server in a thread of its own
# ---------------------------------------------------------------------------------------------


class LocalServer:
    """Serves an ASGI app on 127.0.0.1:<ephemeral port> from a daemon thread and event loop.

    `on_start` / `on_stop` run inside the server's loop (after binding / before closing), so
    background tasks can live there. Usable from sync code, from any event loop, and across
    processes (the port is real).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        name: str = "local-server",
        on_start: Callable[[], Awaitable[None]] | None = None,
        on_stop: Callable[[], Awaitable[None]] | None = None,
        shutdown_timeout: float = 3.0,
    ) -> None:
        self._app = app
        self._name = name
        self._on_start = on_start
        self._on_stop = on_stop
        self._shutdown_timeout = shutdown_timeout
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_requested: asyncio.Event | None = None
        self._port: int | None = None
        self._error: BaseException | None = None
        self._state: Any = None

    @property
    def port(self) -> int:
        """The bound TCP port (only while running)."""
        if self._port is None:
            raise RuntimeError(f"{self._name} is not running")
        return self._port

    @property
    def url(self) -> str:
        """`http://127.0.0.1:<port>`."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The server's event loop while it runs."""
        return self._loop

    def reset_connection(self, client: tuple[str, int]) -> bool:
        """Reset (TCP RST) the connection from `client` (host, port), from the server's loop:
        the peer sees "connection reset" and no answer. False when it is not open."""
        for connection in list(getattr(self._state, "connections", ())):
            transport = getattr(connection, "transport", None)
            if transport is None or tuple(getattr(connection, "client", ()) or ()) != client:
                continue
            sock = transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
            return True
        return False

    def start(self) -> None:
        """Bind and serve; returns once the socket accepts connections."""
        if self._thread is not None:
            raise RuntimeError(f"{self._name} is already running")
        ready = threading.Event()
        self._error = None
        self._thread = threading.Thread(
            target=self._thread_main, args=(ready,), name=self._name, daemon=True
        )
        self._thread.start()
        if not ready.wait(timeout=10) or self._error is not None:
            self._thread.join(timeout=1)
            self._thread = None
            raise RuntimeError(f"{self._name} did not start") from self._error

    def stop(self) -> None:
        """Stop serving: wake handlers, close connections, join the thread. Idempotent."""
        thread, loop, event = self._thread, self._loop, self._stop_requested
        if thread is None:
            return
        if loop is not None and event is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(event.set)
        thread.join(timeout=self._shutdown_timeout + 5)
        self._thread = None

    def _thread_main(self, ready: threading.Event) -> None:
        try:
            asyncio.run(self._serve(ready))
        except BaseException as exc:
            self._error = exc
        finally:
            self._loop = None
            self._port = None
            ready.set()

    async def _serve(self, ready: threading.Event) -> None:
        # log_config=None leaves the process' logging alone; ws="none" avoids importing
        # websocket libraries (and their deprecation warnings) for nothing.
        config = uvicorn.Config(
            self._app, host="127.0.0.1", port=0, lifespan="off", ws="none", http="h11",
            log_config=None, log_level="warning", access_log=False,
        )
        config.load()
        server = uvicorn.Server(config)
        server.lifespan = config.lifespan_class(config)
        await server.startup()
        self._port = server.servers[0].sockets[0].getsockname()[1]
        self._state = server.server_state
        self._loop = asyncio.get_running_loop()
        self._stop_requested = asyncio.Event()
        try:
            if self._on_start is not None:
                await self._on_start()
            ready.set()
            await self._stop_requested.wait()
        finally:
            if self._on_stop is not None:
                await self._on_stop()
            await self._shutdown(server)

    async def _shutdown(self, server: uvicorn.Server) -> None:
        # uvicorn's own shutdown sleeps and polls in 0.1 s steps; tests start and stop
        # servers often, so close connections here and wait only as long as needed.
        for listener in server.servers:
            listener.close()
        state = server.server_state
        for connection in list(state.connections):
            connection.shutdown()
        deadline = time.monotonic() + self._shutdown_timeout
        # uvicorn has no event for "all connections closed", so poll briefly.
        while (state.connections or state.tasks) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.002)
        for task in list(state.tasks):
            task.cancel()
        for connection in list(state.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None:
                transport.close()
        for listener in server.servers:
            await listener.wait_closed()
        await asyncio.sleep(0)


# ---------------------------------------------------------------------------------------------
# The fake
# ---------------------------------------------------------------------------------------------


class FakeUser:
    """A Telegram user chatting privately with the bot; its chat id equals its user id.

    Every action is synchronous and thread-safe and returns the update it created.
    """

    def __init__(self, fake: FakeTelegram, user_id: int) -> None:
        self._fake = fake
        self.id = user_id

    @property
    def chat_id(self) -> int:
        """The private chat with the bot (same number as the user id)."""
        return self.id

    @property
    def user(self) -> JSON:
        """The Telegram User object of this user."""
        return dict(self._fake._chat(self.id).user)

    def send(self, text: str) -> JSON:
        """Send a text message; "/commands" get bot_command entities like Telegram adds."""
        if not text.strip(TRIMMED):
            raise AssertionError("Telegram clients cannot send an empty message")
        entities = _command_entities(text)
        return self._fake._user_message(self.id, {"text": text, **(
            {"entities": entities} if entities else {}
        )})

    def start(self, payload: str | None = None) -> JSON:
        """Press Start: send "/start" (with a deep-link payload if given)."""
        return self.send("/start" if payload is None else f"/start {payload}")

    def share_contact(
        self,
        phone_number: str,
        user_id: int | EllipsisType | None = ...,
        first_name: str | None = None,
    ) -> JSON:
        """Send a contact; by default the user's own (user_id = own id).

        Pass another `user_id`, or None, to send someone else's contact card. The phone number
        is kept exactly as given (Telegram sends it with or without "+").
        """
        own = user_id is ... or user_id == self.id
        contact_user_id = self.id if user_id is ... else user_id
        chat = self._fake._chat(self.id)
        contact: JSON = {
            "phone_number": phone_number,
            "first_name": first_name or (chat.user["first_name"] if own else "Contact"),
        }
        if own and "last_name" in chat.user:
            contact["last_name"] = chat.user["last_name"]
        if contact_user_id is not None:
            contact["user_id"] = contact_user_id
        return self._fake._user_message(self.id, {"contact": contact})

    def tap(self, label: str, message_id: int | None = None) -> JSON:
        """Tap a button labelled `label`.

        Inline buttons: a callback_query from the latest bot message in the chat whose inline
        keyboard has the label (or from `message_id`). A reply-keyboard button (the one the chat
        currently shows) sends its text, or the user's contact for request_contact buttons.
        """
        return self._fake._tap(self.id, label, message_id)

    def block(self) -> JSON:
        """Block the bot (the bot gets a my_chat_member update; sending to it fails with 403)."""
        return self._fake._set_blocked(self.id, True)

    def unblock(self) -> JSON:
        """Unblock the bot again."""
        return self._fake._set_blocked(self.id, False)

    def messages(self) -> list[BotMessage]:
        """What the bot sent to this user so far."""
        return self._fake.messages(self.id)

    async def next_message(self, timeout: float = 30.0) -> BotMessage:  # noqa: ASYNC109
        """The next bot message to this user not yet consumed (see FakeTelegram.next_message)."""
        return await self._fake.next_message(self.id, timeout=timeout)


class FakeTelegram:
    """A fake Bot API server with test-side users. See the module docstring.

    Thread-safe: state lives behind one lock; the HTTP server runs in its own thread and loop,
    and cross-thread wakeups (long polling, webhook delivery, waiting tests) use
    call_soon_threadsafe rather than polling.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        bot_username: str = "narvaro_test_bot",
        *,
        bot_first_name: str = "Närvaro",
        webhook_attempts: int = 4,
        webhook_retry_delay: float = 0.05,
    ) -> None:
        self._token = token
        prefix = token.partition(":")[0]
        self.bot_id = int(prefix) if prefix.isdigit() else 123456
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.webhook_attempts = webhook_attempts
        self.webhook_retry_delay = webhook_retry_delay
        self._spec = load_spec()
        self._methods_by_lower = {name.lower(): name for name in self._spec.methods}
        self._handlers: dict[str, Callable[[JSON], Awaitable[tuple[Any, str | None]]]] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "deleteWebhook": self._delete_webhook,
            "setWebhook": self._set_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendChatAction": self._send_chat_action,
            "close": self._close,
            "logOut": self._log_out,
        }
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._version = 0
        self._async_waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._chats: dict[int, _Chat] = {}
        self._updates: list[JSON] = []
        self._next_update_id = FIRST_UPDATE_ID
        self._delivered: list[int] = []
        self._delivered_set: set[int] = set()
        self._allowed_updates: list[str] = []
        self._webhook: _Webhook | None = None
        self._webhook_deliveries: list[WebhookDelivery] = []
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._callback_queries: dict[str, _CallbackQuery] = {}
        self._next_query = 1
        self._calls: list[Call] = []
        self._errors: list[str] = []
        self._inflight = 0
        self._last_activity = time.monotonic()
        self._logged_out = False
        self._limits: RateLimits | None = None
        self._accepted_sends: list[tuple[float, int]] = []
        self._last_send: dict[int, float] = {}
        self._floods: dict[int, list[ApiError]] = {}
        self._stalls: dict[int, float] = {}
        self._handed_out: dict[int, int] = {}
        # Server-loop side: only touched from the server's thread.
        self._stopping = False
        self._poll_waiter: asyncio.Future[str] | None = None
        self._webhook_wake: asyncio.Event | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._server = LocalServer(
            Starlette(routes=[Route("/{path:path}", self._endpoint, methods=["GET", "POST"])]),
            name="fake-telegram",
            on_start=self._on_server_start,
            on_stop=self._on_server_stop,
        )

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> FakeTelegram:
        """Start serving on an ephemeral port; returns once requests are accepted."""
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop serving (pending long polls return empty). Idempotent."""
        self._server.stop()

    def __enter__(self) -> FakeTelegram:
        """`with FakeTelegram() as fake:` starts it..."""
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        """...and stops it."""
        self.stop()

    @property
    def token(self) -> str:
        """The only token the fake accepts."""
        return self._token

    @property
    def port(self) -> int:
        """The TCP port it listens on (127.0.0.1)."""
        return self._server.port

    @property
    def base_url(self) -> str:
        """The value for PTB's `base_url` (PTB appends `{token}/{method}`)."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def bot_user(self) -> JSON:
        """The bot's User object, as getMe returns it."""
        return {
            "id": self.bot_id, "is_bot": True, "first_name": self.bot_first_name,
            "username": self.bot_username, "can_join_groups": True,
            "can_read_all_group_messages": False, "supports_inline_queries": False,
            "can_connect_to_business": False, "has_main_web_app": False,
        }

    # -- users ---------------------------------------------------------------------------------

    def add_user(
        self,
        user_id: int,
        first_name: str,
        language_code: str | None = "sv",
        *,
        last_name: str | None = None,
        username: str | None = None,
        phone_number: str | None = None,
        started: bool = False,
    ) -> FakeUser:
        """A user who can talk to the bot (the bot may write only after the user wrote first,
        or at once with `started`: a user who wrote before the test began).

        `phone_number` is only used when the user taps a request_contact reply button.
        """
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        chat: JSON = {"id": user_id, "type": "private", "first_name": first_name}
        for key, value in (("last_name", last_name), ("username", username)):
            if value is not None:
                user[key] = chat[key] = value
        if language_code is not None:
            user["language_code"] = language_code
        with self._lock:
            if user_id in self._chats:
                raise ValueError(f"user {user_id} already exists")
            self._chats[user_id] = _Chat(user=user, chat=chat, phone_number=phone_number,
                                         started=started)
        return FakeUser(self, user_id)

    def limit_rate(self, overall: float = 30.0, per_chat: float = 1.0,
                   tolerance: float = 0.05) -> None:
        """Enforce Telegram's flood limits on sendMessage: at most `overall` accepted in any
        second and `per_chat` a second to one chat (each measured at arrival, `tolerance`
        seconds of network jitter allowed); more gets 429 with `retry_after`."""
        with self._lock:
            self._limits = RateLimits(overall, per_chat, tolerance)

    def flood(self, chat_id: int, retry_after: int, times: int = 1) -> None:
        """Answer the next `times` sendMessage to `chat_id` with 429, retry after N seconds."""
        with self._lock:
            self._floods.setdefault(chat_id, []).extend(
                [_too_many(retry_after) for _ in range(times)])

    def fail_next(self, chat_id: int, code: int = 502, description: str = "Bad Gateway",
                  times: int = 1) -> None:
        """Answer the next `times` sendMessage to `chat_id` with an error (a 5xx by default)."""
        with self._lock:
            self._floods.setdefault(chat_id, []).extend(
                [ApiError(code, description) for _ in range(times)])

    def stall_next(self, chat_id: int, seconds: float) -> None:
        """Take the next sendMessage to `chat_id`, then answer only after `seconds` (the bot
        times out: the message is there, the answer is lost)."""
        with self._lock:
            self._stalls[chat_id] = seconds

    def accepted_sends(self) -> list[tuple[float, int]]:
        """(monotonic arrival time, chat id) of every sendMessage the fake accepted."""
        with self._lock:
            return list(self._accepted_sends)

    def max_sends_in(self, window: float = 1.0, chat_id: int | None = None) -> int:
        """The most sendMessage accepted within any `window` seconds (to `chat_id` only, if
        given): the fake's own measure of the rate it was sent at."""
        times = [t for t, chat in self.accepted_sends() if chat_id in (None, chat)]
        most, first = 0, 0
        for last, moment in enumerate(times):
            while moment - times[first] >= window:
                first += 1
            most = max(most, last - first + 1)
        return most

    def user(self, user_id: int) -> FakeUser:
        """The FakeUser added with `user_id`."""
        self._chat(user_id)
        return FakeUser(self, user_id)

    # -- reading what happened -----------------------------------------------------------------

    def messages(self, chat_id: int) -> list[BotMessage]:
        """Copies of every message the bot sent to `chat_id`, in their current state."""
        with self._lock:
            chat = self._chats.get(chat_id)
            return [_snapshot(message) for message in chat.bot_messages] if chat else []

    def message_counts(self) -> dict[int, int]:
        """How many messages the bot sent to each chat (cheap: nothing is copied)."""
        with self._lock:
            return {chat_id: len(chat.bot_messages) for chat_id, chat in self._chats.items()}

    def unread(self, chat_id: int) -> int:
        """How many bot messages to `chat_id` no `next_message` call has returned yet."""
        with self._lock:
            chat = self._chats.get(chat_id)
            return len(chat.bot_messages) - chat.consumed if chat else 0

    def calls(self, method: str | None = None) -> list[Call]:
        """Every recorded request, or those of one method (case-insensitive)."""
        with self._lock:
            if method is None:
                return list(self._calls)
            wanted = method.lower()
            return [call for call in self._calls if call.method.lower() == wanted]

    @property
    def long_polling(self) -> bool:
        """Whether a getUpdates request is waiting in the fake for an update right now."""
        with self._lock:
            return self._poll_waiter is not None

    def pending_updates(self) -> int:
        """Updates not yet confirmed (getUpdates offset) nor delivered to the webhook."""
        with self._lock:
            return len(self._updates)

    def requeue(self, update: JSON) -> None:
        """Offer an update again, as Telegram does when the bot died before confirming it
        (the next getUpdates without the offset gets it once more)."""
        with self._lock:
            self._updates.append(copy.deepcopy(update))
            self._updates.sort(key=lambda u: int(u["update_id"]))
            self._notify_locked(updates_changed=True)

    def discard_pending_updates(self) -> int:
        """Forget every unconfirmed update (a test-side shortcut); returns how many."""
        with self._lock:
            count = len(self._updates)
            self._updates.clear()
            self._notify_locked(updates_changed=True)
            return count

    def times_handed_out(self, update_id: int) -> int:
        """How many getUpdates answers carried this update (more than one: a replay)."""
        with self._lock:
            return self._handed_out.get(update_id, 0)

    @property
    def delivered_update_ids(self) -> list[int]:
        """Update ids handed to the bot at least once (getUpdates result or webhook 2xx)."""
        with self._lock:
            return list(self._delivered)

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        """Every webhook POST attempt, in order."""
        with self._lock:
            return list(self._webhook_deliveries)

    @property
    def webhook_url(self) -> str:
        """The webhook currently set ("" when none)."""
        with self._lock:
            return self._webhook.url if self._webhook else ""

    @property
    def server_errors(self) -> list[str]:
        """Unexpected exceptions inside the fake (answered with 500); should stay empty."""
        with self._lock:
            return list(self._errors)

    def my_commands(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """The command list set for `scope` (default scope) and `language_code`."""
        with self._lock:
            return copy.deepcopy(self._commands.get(self._commands_key(scope, language_code), []))

    def callback_answer(self, callback_query_id: str) -> JSON | None:
        """The answerCallbackQuery parameters given for a query, or None while unanswered."""
        with self._lock:
            query = self._callback_queries.get(callback_query_id)
            return dict(query.answer) if query and query.answer is not None else None

    # -- waiting -------------------------------------------------------------------------------

    async def next_message(
        self, chat_id: int, timeout: float = 30.0  # noqa: ASYNC109 - the deadline is the point
    ) -> BotMessage:
        """The next message the bot sends to `chat_id` that no earlier call returned."""

        def take() -> BotMessage | None:
            with self._lock:
                chat = self._chats.get(chat_id)
                if chat is None or chat.consumed >= len(chat.bot_messages):
                    return None
                chat.consumed += 1
                return _snapshot(chat.bot_messages[chat.consumed - 1])

        try:
            return await self.wait_until(take, timeout=timeout)
        except AssertionError:
            texts = [message.text for message in self.messages(chat_id)]
            raise AssertionError(
                f"the bot sent no new message to chat {chat_id} within {timeout} s "
                f"(all messages to it: {texts})"
            ) from None

    async def wait_until(
        self, predicate: Callable[[], T | None], timeout: float = 30.0  # noqa: ASYNC109
    ) -> T:
        """Await a truthy `predicate()` (re-checked on every change of the fake's state)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        event = asyncio.Event()
        waiter = (loop, event)
        while True:
            with self._lock:
                event.clear()
                self._async_waiters.add(waiter)
            try:
                result = predicate()
                if result:
                    return result
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise AssertionError(f"condition not met within {timeout} s")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), remaining)
            finally:
                with self._lock:
                    self._async_waiters.discard(waiter)

    def wait_for(self, predicate: Callable[[], T | None], timeout: float = 30.0) -> T:
        """Block the calling thread until `predicate()` is truthy (for subprocess bots).

        Do not call it from the event loop the bot runs in: use `wait_until` there.
        """
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                seen = self._version
            result = predicate()
            if result:
                return result
            with self._changed:
                while self._version == seen:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise AssertionError(f"condition not met within {timeout} s")
                    self._changed.wait(remaining)

    async def wait_idle(self, timeout: float = 30.0, quiet: float = 0.05) -> None:  # noqa: ASYNC109
        """Await no pending updates, no request in progress and `quiet` s without activity."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout

        def idle_for() -> float | None:
            with self._lock:
                if self._updates or self._inflight:
                    return None
                return time.monotonic() - self._last_activity

        while True:
            elapsed = idle_for()
            if elapsed is not None and elapsed >= quiet:
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"not idle after {timeout} s: {self.pending_updates()} pending updates"
                )
            step = quiet - elapsed if elapsed is not None else quiet
            with contextlib.suppress(AssertionError):
                await self.wait_until(lambda: False, timeout=min(step, remaining))

    # -- state changes (call with the lock held) -----------------------------------------------

    def _notify_locked(self, updates_changed: bool = False) -> None:
        self._version += 1
        self._changed.notify_all()
        for waiter in list(self._async_waiters):
            loop, event = waiter
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # that test's loop is gone
                self._async_waiters.discard(waiter)
        server_loop = self._server.loop
        if updates_changed and server_loop is not None:
            with contextlib.suppress(RuntimeError):
                server_loop.call_soon_threadsafe(self._wake_server)

    def _chat(self, chat_id: int) -> _Chat:
        with self._lock:
            chat = self._chats.get(chat_id)
        if chat is None:
            raise KeyError(f"no user {chat_id}: call add_user first")
        return chat

    def _add_update_locked(self, kind: str, payload: JSON) -> JSON:
        update = {"update_id": self._next_update_id, kind: payload}
        self._next_update_id += 1
        allowed = self._allowed_updates
        wanted = kind in allowed if allowed else kind not in OPT_IN_UPDATE_TYPES
        if wanted:
            self._updates.append(update)
        self._last_activity = time.monotonic()
        self._notify_locked(updates_changed=True)
        return update

    def _user_message(self, chat_id: int, content: JSON) -> JSON:
        with self._lock:
            chat = self._chat_for_user_locked(chat_id)
            message = {
                "message_id": chat.next_message_id, "from": chat.user, "chat": chat.chat,
                "date": int(time.time()), **content,
            }
            chat.next_message_id += 1
            chat.user_messages[message["message_id"]] = message
            chat.started = True
            return self._add_update_locked("message", message)

    def _chat_for_user_locked(self, chat_id: int) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            raise KeyError(f"no user {chat_id}: call add_user first")
        if chat.blocked:
            raise AssertionError(f"user {chat_id} has blocked the bot: call unblock() first")
        return chat

    def _tap(self, chat_id: int, label: str, message_id: int | None) -> JSON:
        with self._lock:
            chat = self._chat_for_user_locked(chat_id)
            if message_id is not None:
                if message_id not in chat.bot_by_id:
                    raise AssertionError(f"the bot sent no message {message_id} to {chat_id}")
                candidates = [chat.bot_by_id[message_id]]
            else:
                candidates = [m for m in reversed(chat.bot_messages) if m.inline]
            for message in candidates:
                for button in message._keyboard() if message.inline else []:
                    if button["text"] == label:
                        return self._callback_query_locked(chat, message, button)
            keyboard = BotMessage(0, chat_id, "", chat.reply_keyboard, 0)
            reply_button = next((b for b in keyboard._keyboard() if b["text"] == label), None)
            inline_labels = candidates[0].buttons if candidates and candidates[0].inline else []
            if reply_button is None:
                raise AssertionError(
                    f"no button {label!r} in chat {chat_id}; inline buttons of the latest "
                    f"keyboard: {inline_labels}; reply keyboard: {keyboard.buttons}"
                )
            if (chat.reply_keyboard or {}).get("one_time_keyboard"):
                chat.reply_keyboard = None
            phone = chat.phone_number
        if reply_button.get("request_contact"):
            if phone is None:
                raise AssertionError(
                    f"{label!r} asks for the contact: give add_user a phone_number, or call "
                    "share_contact(...)"
                )
            return self.user(chat_id).share_contact(phone)
        if any(reply_button.get(key) for key in KEYBOARD_REQUEST_FIELDS):
            raise AssertionError(f"the fake cannot simulate the {label!r} request button")
        return self.user(chat_id).send(label)

    def _callback_query_locked(self, chat: _Chat, message: BotMessage, button: JSON) -> JSON:
        if "callback_data" not in button:
            kind = next(key for key in button if key not in NON_ACTION_BUTTON_FIELDS)
            raise AssertionError(
                f"button {button['text']!r} is a {kind} button: tapping it sends no update"
            )
        query_id = str(4_000_000_000_000_000_000 + self._next_query)
        self._next_query += 1
        self._callback_queries[query_id] = _CallbackQuery(chat.chat["id"], message.message_id)
        query = {
            "id": query_id, "from": chat.user, "message": self._message_json(message),
            "chat_instance": str((chat.chat["id"] * 2_654_435_761) % 2**63),
            "data": button["callback_data"],
        }
        return self._add_update_locked("callback_query", query)

    def _set_blocked(self, chat_id: int, blocked: bool) -> JSON:
        with self._lock:
            chat = self._chats.get(chat_id)
            if chat is None:
                raise KeyError(f"no user {chat_id}: call add_user first")
            if chat.blocked == blocked:
                raise AssertionError(f"user {chat_id} {'already' if blocked else 'never'} "
                                     "blocked the bot")
            chat.blocked = blocked
            bot = {key: self.bot_user[key] for key in ("id", "is_bot", "first_name", "username")}
            member: JSON = {"user": bot, "status": "member"}
            banned: JSON = {"user": bot, "status": "kicked", "until_date": 0}
            change = {
                "chat": chat.chat, "from": chat.user, "date": int(time.time()),
                "old_chat_member": member if blocked else banned,
                "new_chat_member": banned if blocked else member,
            }
            return self._add_update_locked("my_chat_member", change)

    def _message_json(self, message: BotMessage) -> JSON:
        bot = {key: self.bot_user[key] for key in ("id", "is_bot", "first_name", "username")}
        chat = self._chats[message.chat_id]
        result: JSON = {
            "message_id": message.message_id, "from": bot, "chat": chat.chat,
            "date": message.date,
        }
        if message.edit_date is not None:
            result["edit_date"] = message.edit_date
        if message.photo is not None:
            width, height = _image_size(message.photo)
            result["photo"] = [{"file_id": f"photo-{message.chat_id}-{message.message_id}",
                                "file_unique_id": f"p{message.chat_id}{message.message_id}",
                                "width": width, "height": height,
                                "file_size": len(message.photo)}]
            if message.text:
                result["caption"] = message.text
            if message.entities:
                result["caption_entities"] = message.entities
        else:
            result["text"] = message.text
            if message.entities:
                result["entities"] = message.entities
        if message.inline:
            result["reply_markup"] = message.reply_markup
        return copy.deepcopy(result)

    # -- HTTP ----------------------------------------------------------------------------------

    async def _on_server_start(self) -> None:
        self._stopping = False
        self._webhook_wake = asyncio.Event()
        self._webhook_task = asyncio.create_task(self._webhook_worker())

    async def _on_server_stop(self) -> None:
        self._stopping = True
        self._wake_server("stop")
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None

    def _wake_server(self, reason: str = "update") -> None:
        waiter = self._poll_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(reason)
        if self._webhook_wake is not None:
            self._webhook_wake.set()

    def _record_locked(
        self, request: _Request, status: int, error: str | None, abandoned: bool = False
    ) -> None:
        if not request.recorded:
            request.recorded = True
            self._calls.append(Call(
                request.method, request.params, request.started,
                time.monotonic() - request.clock, status, error, request.source, abandoned,
            ))

    def _commit_locked(self) -> None:
        """Record the current request as successful, in the same critical section as its
        effect, so a test that sees the effect also sees the call."""
        request = _CURRENT_REQUEST.get()
        if request is not None:
            self._record_locked(request, 200, None)

    async def _endpoint(self, request: Request) -> Response:
        method = request.path_params.get("path", "")
        current = _Request(method, {}, time.time(), time.monotonic())
        _CURRENT_REQUEST.set(current)
        counted = False
        try:
            match = re.fullmatch(r"bot([^/]*)/([^/]+)/?", method)
            if match is None:
                raise ApiError(404, "Not Found")
            token, method = match.groups()
            if token != self._token or self._logged_out:
                raise ApiError(401, "Unauthorized")
            name = self._methods_by_lower.get(method.lower())
            if name is None:
                if method in self._spec.all_method_names:
                    raise ApiError(501, f"Not Implemented: the fake has no {method}")
                raise ApiError(404, "Not Found")
            method = current.method = name
            raw, files = await self._read_params(request)
            current.params = dict(raw)
            if method != "getUpdates":
                counted = True
                with self._lock:
                    self._inflight += 1
                    self._last_activity = time.monotonic()
            current.params = self._validate(method, raw, files)
            result, description = await self._handlers[method](current.params)
            body: JSON = {"ok": True, "result": result}
            if description:
                body["description"] = description
            status, error = 200, None
        except ApiError as exc:
            status, error = exc.code, exc.description
            body = {"ok": False, "error_code": exc.code, "description": exc.description}
            if exc.parameters:
                body["parameters"] = exc.parameters
        except Exception as exc:
            status, error = 500, f"Internal Server Error: {exc!r}"
            body = {"ok": False, "error_code": 500, "description": error}
            with self._lock:
                self._errors.append(f"{method}: {exc!r}")
        abandoned = method == "getUpdates" and await request.is_disconnected()
        with self._lock:
            self._record_locked(current, status, error, abandoned)
            if counted:
                self._inflight -= 1
            if counted or (method == "getUpdates" and status == 200 and body["result"]):
                self._last_activity = time.monotonic()
            self._notify_locked()
        return Response(
            json.dumps(body, ensure_ascii=False), status_code=status,
            media_type="application/json",
        )

    async def _read_params(self, request: Request) -> tuple[dict[str, str], dict[str, Any]]:
        """Parameters as the real server sees them: every value a string, files apart."""
        params: dict[str, str] = dict(request.query_params)
        files: dict[str, Any] = {}
        body = await request.body()
        content_type = request.headers.get("content-type", "")
        kind = content_type.partition(";")[0].strip().lower()
        if not body:
            return params, files
        if kind == "application/json":
            try:
                data = json.loads(body)
            except ValueError:
                raise _bad("can't parse JSON encoded request parameters") from None
            if not isinstance(data, dict):
                raise _bad("JSON object expected as request parameters")
            for key, value in data.items():
                if value is not None:
                    params[key] = value if isinstance(value, str) else json.dumps(value)
        elif kind == "multipart/form-data":
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                f"Content-Type: {content_type}\r\n\r\n".encode() + body
            )
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True)
                content = payload if isinstance(payload, bytes) else b""
                filename = part.get_filename()
                if filename is not None:
                    files[str(name)] = UploadedFile(filename, content)
                elif name:
                    params[str(name)] = content.decode()
        else:
            params.update(parse_qsl(body.decode(), keep_blank_values=True))
        return params, files

    def _validate(self, method: str, raw: dict[str, str], files: dict[str, Any]) -> JSON:
        out: JSON = {}
        for spec_field in self._spec.methods[method].get("fields", []):
            name, types = spec_field["name"], spec_field["types"]
            if name in files and "InputFile" in types:
                out[name] = files[name]
                continue
            value = raw.get(name, "")
            if value == "":  # the server treats empty parameters as absent
                if spec_field["required"]:
                    raise _bad("message text is empty" if name == "text" else f"{name} is empty")
                continue
            out[name] = self._parse_param(method, name, value, types)
        return out

    def _parse_param(self, method: str, name: str, value: str, types: list[str]) -> Any:
        if all(t in SCALARS for t in types):
            if "Integer" in types and INTEGER_RE.fullmatch(value.strip()):
                return int(value)
            if "String" in types or "InputFile" in types:
                return value
            if method == "getUpdates" and name == "timeout":
                # PTB sends fractional timedeltas as floats; the server rounds them down.
                with contextlib.suppress(ValueError):
                    return max(float(value), 0.0)
            if "Boolean" in types or "True" in types:
                flag = {"true": True, "1": True, "false": False, "0": False}.get(value.lower())
                if flag is not None:
                    return flag
            if "Float" in types:
                with contextlib.suppress(ValueError):
                    return float(value)
            raise _bad(f'parameter "{name}" must be of type {" or ".join(types)}')
        try:
            decoded = json.loads(value)
        except ValueError:
            label = "reply keyboard markup" if name == "reply_markup" else name.replace("_", " ")
            raise _bad(f"can't parse {label} JSON object") from None
        try:
            return self._spec.check(decoded, types, name)
        except _Violation as violation:
            raise violation.as_api_error() from None

    # -- methods -------------------------------------------------------------------------------

    async def _get_me(self, params: JSON) -> tuple[Any, str | None]:
        return self.bot_user, None

    async def _get_updates(self, params: JSON) -> tuple[Any, str | None]:
        offset: int | None = params.get("offset")
        limit = min(max(int(params.get("limit", 100)), 1), 100)
        timeout = float(params.get("timeout", 0))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        with self._lock:
            if self._webhook is not None:
                raise ApiError(409, GETUPDATES_WHILE_WEBHOOK)
            if "allowed_updates" in params:
                self._allowed_updates = list(params["allowed_updates"])
            if offset is not None:
                if offset < 0:
                    del self._updates[: max(len(self._updates) + offset, 0)]
                else:
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                self._notify_locked()
        # A newer getUpdates ends the one still waiting, as on the real server.
        self._wake_server("conflict")
        while True:
            with self._lock:
                if self._webhook is not None:
                    raise ApiError(409, GETUPDATES_WHILE_WEBHOOK)
                batch = self._updates[:limit]
                for update in batch:
                    self._handed_out[update["update_id"]] = (
                        self._handed_out.get(update["update_id"], 0) + 1)
                    if update["update_id"] not in self._delivered_set:
                        self._delivered_set.add(update["update_id"])
                        self._delivered.append(update["update_id"])
            remaining = deadline - loop.time()
            if batch or remaining <= 0 or self._stopping:
                return batch, None
            waiter: asyncio.Future[str] = loop.create_future()
            with self._lock:
                self._poll_waiter = waiter
                self._notify_locked()
            try:
                done, _ = await asyncio.wait({waiter}, timeout=remaining)
            finally:
                with self._lock:
                    if self._poll_waiter is waiter:
                        self._poll_waiter = None
                        self._notify_locked()
            if waiter in done and waiter.result() == "conflict":
                raise ApiError(409, GETUPDATES_TERMINATED)

    def _target_chat_locked(self, chat_id: int | str) -> _Chat:
        chat = self._chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None or not chat.started:
            raise _bad("chat not found")
        if chat.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _flood_control_locked(self, chat_id: int) -> None:
        """Answer 429 with retry_after as Telegram does, when a send is over the limits."""
        forced = self._floods.get(chat_id)
        if forced:
            raise forced.pop(0)
        limits = self._limits
        now = time.monotonic()
        if limits is not None:
            if limits.overall > 0:
                window = 1.0 - limits.tolerance
                recent = [t for t, _ in self._accepted_sends[-int(limits.overall) - 1:]
                          if t > now - window]
                if len(recent) >= limits.overall:
                    raise _too_many(max(1, int(recent[0] + window - now + 0.999)))
            last = self._last_send.get(chat_id)
            gap = 1.0 / limits.per_chat - limits.tolerance if limits.per_chat > 0 else 0.0
            if last is not None and now - last < gap:
                raise _too_many(max(1, int(last + gap - now + 0.999)))
        self._accepted_sends.append((now, chat_id))
        self._last_send[chat_id] = now

    async def _send_message(self, params: JSON) -> tuple[Any, str | None]:
        text, entities = format_text(
            params["text"], params.get("parse_mode"), params.get("entities")
        )
        markup: JSON | None = params.get("reply_markup")
        with self._lock:
            chat = self._target_chat_locked(params["chat_id"])
            self._flood_control_locked(chat.chat["id"])
            reply = params.get("reply_parameters")
            replied: JSON | None = None
            if reply is not None:
                replied = chat.user_messages.get(reply["message_id"])
                if replied is None and reply["message_id"] in chat.bot_by_id:
                    replied = self._message_json(chat.bot_by_id[reply["message_id"]])
                if replied is None and not reply.get("allow_sending_without_reply"):
                    raise _bad("message to be replied not found")
            now = int(time.time())
            message = BotMessage(
                message_id=chat.next_message_id, chat_id=chat.chat["id"], text=text,
                reply_markup=markup, date=now, entities=entities,
                parse_mode=params.get("parse_mode"),
                history=[MessageVersion(text, entities, markup, now)],
            )
            chat.next_message_id += 1
            chat.bot_messages.append(message)
            chat.bot_by_id[message.message_id] = message
            if markup is not None and "keyboard" in markup:
                chat.reply_keyboard = markup
            elif markup is not None and "remove_keyboard" in markup:
                chat.reply_keyboard = None
            result = self._message_json(message)
            if replied is not None:
                result["reply_to_message"] = copy.deepcopy(replied)
            self._commit_locked()
            self._notify_locked()
            stall = self._stalls.pop(chat.chat["id"], 0.0)
        if stall:
            await asyncio.sleep(stall)
        return result, None

    async def _send_photo(self, params: JSON) -> tuple[Any, str | None]:
        """A photo uploaded with the request (a file_id or URL is refused: the bot only ever
        uploads what it drew), with its caption and keyboard."""
        photo = params["photo"]
        if not isinstance(photo, UploadedFile):
            raise _bad("wrong file identifier/HTTP URL specified")
        if not photo.content.startswith((b"\x89PNG", b"\xff\xd8")):
            raise _bad("IMAGE_PROCESS_FAILED")
        caption, entities = format_text(
            params.get("caption", ""), params.get("parse_mode"), params.get("caption_entities"))
        if len(caption) > 1024:
            raise _bad("message caption is too long")
        markup: JSON | None = params.get("reply_markup")
        with self._lock:
            chat = self._target_chat_locked(params["chat_id"])
            self._flood_control_locked(chat.chat["id"])
            now = int(time.time())
            message = BotMessage(
                message_id=chat.next_message_id, chat_id=chat.chat["id"], text=caption,
                reply_markup=markup, date=now, entities=entities,
                history=[MessageVersion(caption, entities, markup, now)],
                photo=photo.content,
            )
            chat.next_message_id += 1
            chat.bot_messages.append(message)
            chat.bot_by_id[message.message_id] = message
            result = self._message_json(message)
            self._commit_locked()
            self._notify_locked()
        return result, None

    def _message_to_edit_locked(self, params: JSON) -> BotMessage:
        if "inline_message_id" in params:
            raise _bad("MESSAGE_ID_INVALID")
        if "chat_id" not in params or "message_id" not in params:
            raise _bad("message identifier is not specified")
        chat = self._target_chat_locked(params["chat_id"])
        message = chat.bot_by_id.get(params["message_id"])
        if message is None:
            if params["message_id"] in chat.user_messages:
                raise _bad("message can't be edited")
            raise _bad("message to edit not found")
        return message

    def _apply_edit_locked(
        self, message: BotMessage, text: str, entities: list[JSON], markup: JSON | None
    ) -> JSON:
        current_inline = message.reply_markup if message.inline else None
        if text == message.text and entities == message.entities and markup == current_inline:
            raise _bad(NOT_MODIFIED)
        now = int(time.time())
        message.text, message.entities = text, entities
        if markup is not None or message.inline or message.reply_markup is None:
            message.reply_markup = markup
        message.edited, message.edit_date = True, now
        message.history.append(MessageVersion(text, entities, message.reply_markup, now))
        self._commit_locked()
        self._notify_locked()
        return self._message_json(message)

    async def _edit_message_text(self, params: JSON) -> tuple[Any, str | None]:
        if "text" not in params:
            if "rich_message" in params:
                raise ApiError(501, "Not Implemented: the fake has no rich messages")
            raise _bad("message text is empty")
        text, entities = format_text(
            params["text"], params.get("parse_mode"), params.get("entities")
        )
        with self._lock:
            message = self._message_to_edit_locked(params)
            return self._apply_edit_locked(
                message, text, entities, params.get("reply_markup")
            ), None

    async def _edit_message_reply_markup(self, params: JSON) -> tuple[Any, str | None]:
        with self._lock:
            message = self._message_to_edit_locked(params)
            return self._apply_edit_locked(
                message, message.text, message.entities, params.get("reply_markup")
            ), None

    async def _answer_callback_query(self, params: JSON) -> tuple[Any, str | None]:
        if len(params.get("text", "")) > MAX_CALLBACK_ANSWER_LENGTH:
            raise _bad("MESSAGE_TOO_LONG")
        with self._lock:
            query = self._callback_queries.get(params["callback_query_id"])
            if query is None or query.answer is not None:
                raise _bad(QUERY_TOO_OLD)
            query.answer = dict(params)
            self._commit_locked()
            self._notify_locked()
        return True, None

    def _commands_key(self, scope: JSON | None, language_code: str) -> tuple[str, str]:
        return json.dumps(scope or {"type": "default"}, sort_keys=True), language_code

    def _commands_target(self, params: JSON) -> tuple[str, str]:
        language_code = params.get("language_code", "")
        if language_code and not re.fullmatch(r"[a-z]{2}", language_code):
            raise _bad("invalid language_code specified")
        scope = params.get("scope")
        if scope is not None and "chat_id" in scope:
            chat_id = scope["chat_id"]
            if isinstance(chat_id, str) and INTEGER_RE.fullmatch(chat_id):
                chat_id = int(chat_id)
            with self._lock:
                if chat_id not in self._chats:
                    raise _bad("chat not found")
            scope = {**scope, "chat_id": chat_id}
        return self._commands_key(scope, language_code)

    async def _set_my_commands(self, params: JSON) -> tuple[Any, str | None]:
        if len(params["commands"]) > 100:
            raise _bad("too many commands specified")
        key = self._commands_target(params)
        with self._lock:
            if params["commands"]:
                self._commands[key] = params["commands"]
            else:
                self._commands.pop(key, None)
            self._commit_locked()
            self._notify_locked()
        return True, None

    async def _get_my_commands(self, params: JSON) -> tuple[Any, str | None]:
        key = self._commands_target(params)
        with self._lock:
            return copy.deepcopy(self._commands.get(key, [])), None

    async def _delete_my_commands(self, params: JSON) -> tuple[Any, str | None]:
        key = self._commands_target(params)
        with self._lock:
            self._commands.pop(key, None)
            self._commit_locked()
            self._notify_locked()
        return True, None

    async def _delete_webhook(self, params: JSON) -> tuple[Any, str | None]:
        with self._lock:
            was_set = self._webhook is not None
            self._webhook = None
            if params.get("drop_pending_updates"):
                self._updates.clear()
            self._commit_locked()
            self._notify_locked(updates_changed=True)
        return True, "Webhook was deleted" if was_set else "Webhook is already deleted"

    async def _set_webhook(self, params: JSON) -> tuple[Any, str | None]:
        url = params["url"]
        if not url:
            return await self._delete_webhook(params)
        parts = urlsplit(url)
        # The real server demands HTTPS on ports 443/80/88/8443; tests serve plain local HTTP.
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise _bad("bad webhook: secret token contains unallowed characters")
        max_connections = params.get("max_connections", 40)
        if not 1 <= max_connections <= 100:
            raise _bad("bad webhook: max_connections must be between 1 and 100")
        with self._lock:
            previous = self._webhook
            self._webhook = _Webhook(
                url=url, secret_token=secret, max_connections=max_connections,
                ip_address=params.get("ip_address"),
                has_custom_certificate="certificate" in params,
            )
            if "allowed_updates" in params:
                self._allowed_updates = list(params["allowed_updates"])
            if params.get("drop_pending_updates"):
                self._updates.clear()
            self._commit_locked()
            self._notify_locked(updates_changed=True)
        same = previous is not None and previous.url == url
        return True, "Webhook is already set" if same else "Webhook was set"

    async def _get_webhook_info(self, params: JSON) -> tuple[Any, str | None]:
        with self._lock:
            hook = self._webhook
            info: JSON = {
                "url": hook.url if hook else "",
                "has_custom_certificate": bool(hook and hook.has_custom_certificate),
                "pending_update_count": len(self._updates),
            }
            if hook is not None:
                info["max_connections"] = hook.max_connections
                if hook.ip_address:
                    info["ip_address"] = hook.ip_address
                if hook.last_error_date is not None:
                    info["last_error_date"] = hook.last_error_date
                    info["last_error_message"] = hook.last_error_message
                if self._allowed_updates:
                    info["allowed_updates"] = list(self._allowed_updates)
        return info, None

    async def _send_chat_action(self, params: JSON) -> tuple[Any, str | None]:
        with self._lock:
            self._target_chat_locked(params["chat_id"])
        if params["action"] not in CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True, None

    async def _close(self, params: JSON) -> tuple[Any, str | None]:
        return True, None

    async def _log_out(self, params: JSON) -> tuple[Any, str | None]:
        # Like the cloud server after logOut: the token stops working.
        self._logged_out = True
        return True, None

    # -- webhook delivery ----------------------------------------------------------------------

    async def _webhook_worker(self) -> None:
        wake = self._webhook_wake
        assert wake is not None
        async with httpx.AsyncClient(timeout=10.0, trust_env=False) as client:
            failures: dict[int, int] = {}
            while not self._stopping:
                wake.clear()
                with self._lock:
                    hook = self._webhook
                    update = self._updates[0] if hook is not None and self._updates else None
                if hook is None or update is None:
                    await wake.wait()
                    continue
                status, error, reply = await self._post_update(client, hook, update)
                update_id = update["update_id"]
                delivered = status is not None and 200 <= status < 300
                with self._lock:
                    self._webhook_deliveries.append(
                        WebhookDelivery(update_id, hook.url, status, error, time.time())
                    )
                    if delivered:
                        failures.pop(update_id, None)
                        self._forget_update_locked(update_id)
                        if update_id not in self._delivered_set:
                            self._delivered_set.add(update_id)
                            self._delivered.append(update_id)
                    else:
                        hook.last_error_date = int(time.time())
                        hook.last_error_message = error
                        failures[update_id] = failures.get(update_id, 0) + 1
                        if failures[update_id] >= self.webhook_attempts:
                            self._forget_update_locked(update_id)
                    self._last_activity = time.monotonic()
                    self._notify_locked()
                if reply is not None:
                    await self._run_webhook_reply(reply)
                if not delivered and update_id in failures:
                    delay = self.webhook_retry_delay * 2 ** (failures[update_id] - 1)
                    await asyncio.sleep(delay)  # stop() cancels this task

    def _forget_update_locked(self, update_id: int) -> None:
        self._updates = [u for u in self._updates if u["update_id"] != update_id]

    async def _post_update(
        self, client: httpx.AsyncClient, hook: _Webhook, update: JSON
    ) -> tuple[int | None, str | None, JSON | None]:
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        try:
            response = await client.post(hook.url, content=json.dumps(update), headers=headers)
        except httpx.HTTPError as exc:
            return None, f"Connection failed: {exc.__class__.__name__}: {exc}", None
        if not 200 <= response.status_code < 300:
            reason = f"{response.status_code} {response.reason_phrase}".strip()
            return response.status_code, f"Wrong response from the webhook: {reason}", None
        reply = None
        if response.headers.get("content-type", "").startswith("application/json"):
            with contextlib.suppress(ValueError):
                decoded = response.json()
                if isinstance(decoded, dict) and isinstance(decoded.get("method"), str):
                    reply = decoded
        return response.status_code, None, reply

    async def _run_webhook_reply(self, reply: JSON) -> None:
        """A method call sent back in the webhook response, which the real server executes."""
        params: dict[str, str] = {
            key: value if isinstance(value, str) else json.dumps(value)
            for key, value in reply.items()
            if key != "method" and value is not None
        }
        method = self._methods_by_lower.get(str(reply["method"]).lower(), str(reply["method"]))
        current = _Request(method, dict(params), time.time(), time.monotonic(), "webhook-reply")
        token = _CURRENT_REQUEST.set(current)
        status, error = 200, None
        try:
            if method not in self._handlers:
                raise ApiError(404, "Not Found")
            current.params = self._validate(method, params, {})
            await self._handlers[method](current.params)
        except ApiError as exc:
            status, error = exc.code, exc.description
        finally:
            _CURRENT_REQUEST.reset(token)
        with self._lock:
            self._record_locked(current, status, error)
            self._notify_locked()


def find_free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (for a subprocess bot's own webhook server)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _image_size(content: bytes) -> tuple[int, int]:
    """Width and height of a PNG (from its header); 0, 0 for anything else."""
    if content.startswith(b"\x89PNG") and len(content) >= 24:
        return int.from_bytes(content[16:20], "big"), int.from_bytes(content[20:24], "big")
    return 0, 0
