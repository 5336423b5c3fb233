"""The fake Bot API is pinned to the real one: its trimmed spec agrees with the published
Bot API 10.1 scrape, and everything it answers validates against the real spec's objects.

The reference is `tests/fakes/telegram-bot-api-10.1.json.gz`: a byte-for-byte copy of
`../shared/specs/telegram-bot-api-10.1.json` (the telegram-bot-api-spec scrape of the
official docs), kept with the tests because CI has no `../shared`. Its SHA-256 is pinned
below, so the reference cannot be edited to agree with a drifted fake.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import struct
import zlib
from collections.abc import AsyncIterator, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.telegram_api import SPEC_PATH, FakeTelegram

JSON = dict[str, Any]

REFERENCE_PATH = Path(__file__).parent / "fakes" / "telegram-bot-api-10.1.json.gz"
#: SHA-256 of the uncompressed telegram-bot-api-10.1.json as published.
REFERENCE_SHA256 = "544bda57bc44b3e5ec89200396b085e47191d49e3c02667cd9991efcbf5f819d"
SCALARS = frozenset({"Integer", "Float", "String", "Boolean", "True", "InputFile"})
#: A required String field whose description fixes its value: a subtype's tag.
CONSTANT_RE = re.compile(r'(?:always|must be) "?([a-z_]+)"?\s*$')
ANNA = 1001


@cache
def reference() -> JSON:
    """The real Bot API 10.1 spec."""
    raw = gzip.decompress(REFERENCE_PATH.read_bytes())
    assert hashlib.sha256(raw).hexdigest() == REFERENCE_SHA256, "the reference was changed"
    data: JSON = json.loads(raw)
    return data


def trimmed() -> JSON:
    """The fake's own trimmed spec (what it validates requests with)."""
    data: JSON = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    return data


def _shape(entry: JSON) -> JSON:
    """What a method or type means to a validator: each field's types and required-ness, the
    subtypes, the return types (descriptions and links left out)."""
    return {
        "fields": {f["name"]: (f["types"], f["required"]) for f in entry.get("fields", [])},
        "subtypes": entry.get("subtypes", []),
        "returns": entry.get("returns", []),
    }


def spec_drift(fake_spec: JSON, real: JSON) -> list[str]:
    """Every way the trimmed spec differs from the real one, one line each."""
    drift = []
    for key in ("version", "release_date"):
        if fake_spec.get(key) != real[key]:
            drift.append(f"{key}: {fake_spec.get(key)!r}, real {real[key]!r}")
    if fake_spec.get("method_names") != sorted(real["methods"]):
        drift.append("method_names is not the real list of methods")
    for kind in ("methods", "types"):
        for name, entry in fake_spec[kind].items():
            if name in real[kind]:
                drift.extend(_entry_drift(f"{kind} {name}", entry, real[kind][name]))
            else:
                drift.append(f"{kind} {name}: not in the real spec")
    return drift


def _entry_drift(label: str, entry: JSON, real_entry: JSON) -> list[str]:
    """How one method or type of the trimmed spec differs from the real one's."""
    ours, theirs = _shape(entry), _shape(real_entry)
    drift = []
    for field in sorted(ours["fields"].keys() | theirs["fields"].keys()):
        if field not in theirs["fields"]:
            drift.append(f"{label}.{field}: not in the real spec")
        elif field not in ours["fields"]:
            drift.append(f"{label}.{field}: missing")
        elif ours["fields"][field] != theirs["fields"][field]:
            drift.append(f"{label}.{field}: (types, required) "
                         f"{ours['fields'][field]}, real {theirs['fields'][field]}")
    for part in ("subtypes", "returns"):
        if ours[part] != theirs[part]:
            drift.append(f"{label} {part}: {ours[part]}, real {theirs[part]}")
    return drift


def _named(types: list[str]) -> Iterator[str]:
    """The type names in a field's types, arrays (of arrays) unwrapped."""
    for type_name in types:
        while type_name.startswith("Array of "):
            type_name = type_name.removeprefix("Array of ")
        yield type_name


def unchecked_types(fake_spec: JSON, real: JSON) -> list[str]:
    """Real types reachable from the parameters of the fake's methods that its trimmed spec
    lacks (the fake would let any value through for them)."""
    seen: set[str] = set()
    todo = [name for method in fake_spec["methods"].values()
            for field in method.get("fields", []) for name in _named(field["types"])]
    while todo:
        name = todo.pop()
        if name in seen or name not in real["types"]:
            continue
        seen.add(name)
        entry = real["types"][name]
        todo.extend(entry.get("subtypes", []))
        todo.extend(n for field in entry.get("fields", []) for n in _named(field["types"]))
    return sorted(seen - set(fake_spec["types"]))


def problems(value: Any, types: list[str], where: str) -> list[str]:
    """Why `value` is none of `types` of the real spec (empty when it is one of them): an
    object has every required field, no field the spec does not name, and each field of its
    types; a subtype's tag has its value."""
    found: list[str] = []
    for type_name in types:
        found = _problems_one(value, type_name, where)
        if not found:
            return []
    return found if len(types) == 1 else [f"{where}: none of {types} ({'; '.join(found)})"]


def _problems_one(value: Any, type_name: str, where: str) -> list[str]:
    if type_name.startswith("Array of "):
        if not isinstance(value, list):
            return [f"{where}: not an array ({type_name})"]
        item = type_name.removeprefix("Array of ")
        return [p for i, element in enumerate(value)
                for p in problems(element, [item], f"{where}[{i}]")]
    if type_name in SCALARS:
        return [] if _scalar_fits(value, type_name) else [f"{where}: not {type_name}: {value!r}"]
    entry = reference()["types"].get(type_name)
    if entry is None:
        return [f"{where}: {type_name} is not a type of the real spec"]
    if entry.get("subtypes"):
        return problems(value, entry["subtypes"], where)
    if not isinstance(value, dict):
        return [f"{where}: not an object ({type_name})"]
    fields = {field["name"]: field for field in entry.get("fields", [])}
    found = [f"{where}: {type_name} has no field {key!r}" for key in value if key not in fields]
    for name, field in fields.items():
        if name not in value:
            if field["required"]:
                found.append(f"{where}: {type_name} lacks required {name!r}")
            continue
        found.extend(problems(value[name], field["types"], f"{where}.{name}"))
        constant = CONSTANT_RE.search(field.get("description", ""))
        if field["required"] and field["types"] == ["String"] and constant and (
                value[name] != constant.group(1)):
            found.append(f"{where}.{name}: {value[name]!r}, always {constant.group(1)!r}")
    return found


def _scalar_fits(value: Any, type_name: str) -> bool:
    if type_name == "Integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_name == "Float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if type_name == "Boolean":
        return isinstance(value, bool)
    if type_name == "True":
        return value is True
    return type_name == "String" and isinstance(value, str)  # never an InputFile in answers


def png(width: int, height: int) -> bytes:
    """A real PNG of one colour."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    rows = b"".join(b"\x00" + b"\xff\x80\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    """A fake Bot API server on loopback."""
    with FakeTelegram() as server:
        yield server


@pytest.fixture
async def api(fake: FakeTelegram) -> AsyncIterator[httpx.AsyncClient]:
    """Raw HTTP to the fake: the answers exactly as a client receives them."""
    async with httpx.AsyncClient(base_url=f"{fake.base_url}{fake.token}/",
                                 trust_env=False) as client:
        yield client


def test_the_reference_is_the_published_spec() -> None:
    """The reference holds every Bot API method and type of 10.1 (and nothing edited)."""
    real = reference()
    assert real["version"] == "Bot API 10.1"
    assert len(real["methods"]) >= 170 and len(real["types"]) >= 300
    assert {"sendMessage", "getUpdates", "sendPhoto"} <= real["methods"].keys()


def test_the_trimmed_spec_agrees_with_the_real_one() -> None:
    """Every method, type and field the fake knows is the real one's: same types, same
    required-ness, same subtypes and return types, none missing, none invented."""
    assert spec_drift(trimmed(), reference()) == []
    assert unchecked_types(trimmed(), reference()) == []


def test_a_drift_is_caught() -> None:
    """A field that became optional, a type that changed, a field or method that does not
    exist and a missing required field each show up."""
    drifted = trimmed()
    send = drifted["methods"]["sendMessage"]
    chat_id = next(f for f in send["fields"] if f["name"] == "chat_id")
    chat_id["required"] = False
    text = next(f for f in drifted["types"]["Message"]["fields"] if f["name"] == "text")
    text["types"] = ["Integer"]
    drifted["types"]["User"]["fields"].append(
        {"name": "phone", "types": ["String"], "required": False})
    drifted["types"]["Chat"]["fields"] = [
        f for f in drifted["types"]["Chat"]["fields"] if f["name"] != "type"]
    drifted["methods"]["sendEverything"] = {"name": "sendEverything", "fields": []}
    del drifted["types"]["LinkPreviewOptions"]
    assert spec_drift(drifted, reference()) == [
        "methods sendMessage.chat_id: (types, required) (['Integer', 'String'], False), real "
        "(['Integer', 'String'], True)",
        "methods sendEverything: not in the real spec",
        "types Chat.type: missing",
        "types Message.text: (types, required) (['Integer'], False), real (['String'], False)",
        "types User.phone: not in the real spec",
    ]
    assert unchecked_types(drifted, reference()) == ["LinkPreviewOptions"]


def test_the_validator_refuses_what_the_real_server_would_not_send() -> None:
    """The answer check itself: a missing required field, an unknown one, a wrong type, a
    wrong subtype tag, and a wrong element of an array are each reported."""
    user = {"id": 1, "is_bot": False, "first_name": "Anna"}
    chat = {"id": 1, "type": "private", "first_name": "Anna"}
    message = {"message_id": 1, "from": user, "chat": chat, "date": 1, "text": "Hej"}
    assert problems(message, ["Message"], "m") == []
    assert problems({**message, "date": "1"}, ["Message"], "m") == ["m.date: not Integer: '1'"]
    assert problems({**message, "sender": user}, ["Message"], "m") == [
        "m: Message has no field 'sender'"]
    assert problems({k: v for k, v in message.items() if k != "chat"}, ["Message"], "m") == [
        "m: Message lacks required 'chat'"]
    assert problems({**message, "from": {**user, "is_bot": 0}}, ["Message"], "m") == [
        "m.from.is_bot: not Boolean: 0"]
    assert problems([message, {"message_id": 2}], ["Array of Message"], "a") == [
        "a[1]: Message lacks required 'date'", "a[1]: Message lacks required 'chat'"]
    member = {"status": "member", "user": user}
    assert problems(member, ["ChatMember"], "c") == []
    assert problems({**member, "status": "kicked"}, ["ChatMember"], "c") != []


async def test_every_answer_of_the_fake_validates_against_the_real_spec(
    fake: FakeTelegram, api: httpx.AsyncClient
) -> None:
    """Every method the fake implements is called (texts, entities, keyboards, a photo, edits,
    callback answers, commands, chat actions, updates of each kind, a webhook that fails,
    close and logOut); each answer is of the real method's return type, and each update the
    users make is a real Update."""
    answers: list[tuple[str, Any]] = []

    async def call(method: str, **request: Any) -> Any:
        body = (await api.post(method, **request)).json()
        assert body["ok"], (method, body)
        answers.append((method, body["result"]))
        return body["result"]

    anna = fake.add_user(ANNA, "Anna", last_name="Berg", username="anna_b")
    bo = fake.add_user(1002, "Bo", language_code=None)
    made = [anna.start(), bo.send("hej på dig")]
    await call("getMe")
    plain = await call("sendMessage", json={"chat_id": ANNA, "text": "Hej"})
    await call("sendMessage", json={
        "chat_id": ANNA, "text": "<b>Ali</b> är <i>sjuk</i>? <a href=\"https://x.se\">Läs</a>",
        "parse_mode": "HTML", "link_preview_options": {"is_disabled": True}})
    asked = await call("sendMessage", json={
        "chat_id": ANNA, "text": "Är Ali sjuk?",
        "reply_markup": {"inline_keyboard": [[{"text": "Ja", "callback_data": "yes"},
                                              {"text": "Nej", "callback_data": "no"}]]}})
    await call("sendMessage", json={
        "chat_id": 1002, "text": "Dela ditt nummer",
        "reply_markup": {"keyboard": [[{"text": "Dela", "request_contact": True}]],
                         "resize_keyboard": True, "one_time_keyboard": True}})
    await call("sendMessage", json={"chat_id": 1002, "text": "Tack",
                                    "reply_markup": {"remove_keyboard": True}})
    await call("sendPhoto", data={"chat_id": str(ANNA), "caption": "*Vecka* 47",
                                  "parse_mode": "MarkdownV2"},
               files={"photo": ("chart.png", png(4, 3), "image/png")})
    await call("editMessageText", json={"chat_id": ANNA, "message_id": plain["message_id"],
                                        "text": "Hej igen", "entities": [
                                            {"type": "bold", "offset": 0, "length": 3}]})
    made.append(anna.tap("Ja", asked["message_id"]))
    made.append(bo.share_contact("+46701234502"))
    made.append(anna.share_contact("+46701234503", user_id=None, first_name="Farmor"))
    made.append(anna.block())
    made.append(anna.unblock())
    query_id = made[2]["callback_query"]["id"]
    await call("answerCallbackQuery", json={"callback_query_id": query_id, "text": "Tack"})
    await call("editMessageReplyMarkup", json={
        "chat_id": ANNA, "message_id": asked["message_id"],
        "reply_markup": {"inline_keyboard": [[{"text": "Ändra", "callback_data": "edit"}]]}})
    await call("sendChatAction", json={"chat_id": ANNA, "action": "typing"})
    await call("setMyCommands", json={"commands": [{"command": "start", "description": "Börja"}],
                                      "scope": {"type": "all_private_chats"},
                                      "language_code": "sv"})
    await call("getMyCommands", json={"scope": {"type": "all_private_chats"},
                                      "language_code": "sv"})
    await call("deleteMyCommands", json={"scope": {"type": "chat", "chat_id": ANNA}})
    updates = await call("getUpdates", json={"offset": 0, "allowed_updates": [
        "message", "callback_query", "my_chat_member"]})
    assert [next(k for k in u if k != "update_id") for u in updates] == [
        "message", "message", "callback_query", "message", "message", "my_chat_member",
        "my_chat_member"]
    await call("setWebhook", json={"url": "http://127.0.0.1:9/hook", "secret_token": "s3cret",
                                   "max_connections": 5})
    made.append(bo.send("någon där?"))
    await fake.wait_until(lambda: any(d.status is None or d.status >= 300
                                      for d in fake.webhook_deliveries) or None)
    failing = await call("getWebhookInfo")
    assert failing["url"] and "last_error_message" in failing
    await call("deleteWebhook", json={"drop_pending_updates": True})
    await call("getWebhookInfo")
    await call("close")
    await call("logOut")

    called = {method for method, _result in answers}
    assert called == set(trimmed()["methods"]), "a method of the fake was not called"
    real = reference()
    wrong = [p for method, result in answers
             for p in problems(result, real["methods"][method]["returns"], method)]
    wrong += [p for update in made for p in problems(update, ["Update"], "update")]
    assert wrong == []
