"""The fake Telegram Bot API, driven by python-telegram-bot's real Bot and Application."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import telegram
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from tests.fakes.telegram_api import (
    SPEC_PATH,
    FakeTelegram,
    LocalServer,
    check_against_spec,
    format_text,
)

ANNA = 1001
#: A long poll's own timeout: far longer than waking it may take on a busy machine.
POLL_TIMEOUT = 60
YES_NO = InlineKeyboardMarkup(
    [[
        InlineKeyboardButton("Ja", callback_data="yes"),
        InlineKeyboardButton("Nej", callback_data="no"),
    ]]
)


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    """A fake Bot API server on loopback."""
    with FakeTelegram() as server:
        yield server


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[telegram.Bot]:
    """PTB's Bot pointed at the fake (initialised: getMe done)."""
    async with telegram.Bot(fake.token, base_url=fake.base_url) as ptb_bot:
        yield ptb_bot


@pytest.fixture
async def api(fake: FakeTelegram) -> AsyncIterator[httpx.AsyncClient]:
    """Raw HTTP to the fake, for what PTB would never send."""
    base_url = f"{fake.base_url}{fake.token}/"
    async with httpx.AsyncClient(base_url=base_url, trust_env=False) as client:
        yield client


def started(fake: FakeTelegram, user_id: int = ANNA, name: str = "Anna") -> None:
    """Add a user who pressed Start, and drop that update."""
    fake.add_user(user_id, name).start()
    assert fake.discard_pending_updates() == 1


async def test_get_me_and_the_calls_record(fake: FakeTelegram, bot: telegram.Bot) -> None:
    """getMe answers the bot user; every request is recorded with typed parameters."""
    assert bot.bot.username == "narvaro_test_bot"
    assert bot.bot.id == 123456 and bot.bot.is_bot
    [call] = fake.calls("getMe")
    assert call.status == 200 and call.params == {}


async def test_inline_keyboard_round_trip(fake: FakeTelegram, bot: telegram.Bot) -> None:
    """An inline keyboard shows up as buttons; a tap arrives as a CallbackQuery update."""
    started(fake)
    sent = await bot.send_message(ANNA, "Är Ali sjuk?", reply_markup=YES_NO)
    assert sent.from_user is not None and sent.from_user.id == bot.bot.id
    message = await fake.next_message(ANNA)
    assert (message.message_id, message.text) == (sent.message_id, "Är Ali sjuk?")
    assert message.buttons == ["Ja", "Nej"]
    assert message.callback_data == {"Ja": "yes", "Nej": "no"}
    assert fake.unread(ANNA) == 0

    tap = fake.user(ANNA).tap("Nej")
    [update] = await bot.get_updates(timeout=1)
    assert update.update_id == tap["update_id"]
    query = update.callback_query
    assert query is not None and query.data == "no"
    assert isinstance(query.message, telegram.Message)
    assert query.message.message_id == sent.message_id
    assert await query.answer("Noterat")
    assert fake.callback_answer(query.id) == {"callback_query_id": query.id, "text": "Noterat"}
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await query.answer()
    with pytest.raises(AssertionError, match=r"'Kanske'.*\['Ja', 'Nej'\]"):
        fake.user(ANNA).tap("Kanske")


async def test_reply_keyboard_asks_for_the_contact(fake: FakeTelegram, bot: telegram.Bot) -> None:
    """request_contact is visible; contacts arrive as sent, own or someone else's."""
    started(fake)
    keyboard = ReplyKeyboardMarkup(
        [[KeyboardButton("Dela mitt nummer", request_contact=True)]], one_time_keyboard=True
    )
    await bot.send_message(ANNA, "Välkommen!", reply_markup=keyboard)
    welcome = await fake.next_message(ANNA)
    assert welcome.request_contact and welcome.buttons == ["Dela mitt nummer"]
    sent = await bot.send_message(ANNA, "Tack", reply_markup=ReplyKeyboardRemove())
    assert sent.reply_markup is None  # Telegram returns inline keyboards only
    assert not (await fake.next_message(ANNA)).request_contact

    anna = fake.user(ANNA)
    anna.share_contact("46701234501")
    anna.share_contact("+46701234599", user_id=None, first_name="Omar")
    anna.share_contact("+46701234598", user_id=4242)
    own, anonymous, other = [u.message.contact for u in await bot.get_updates() if u.message]
    assert own is not None and (own.phone_number, own.user_id) == ("46701234501", ANNA)
    assert anonymous is not None and (anonymous.user_id, anonymous.first_name) == (None, "Omar")
    assert other is not None and other.user_id == 4242


async def test_updates_offsets_and_allowed_updates(fake: FakeTelegram, bot: telegram.Bot) -> None:
    """Updates stay until an offset above them confirms them, as on the real server."""
    anna = fake.add_user(ANNA, "Anna")
    anna.start()
    anna.send("sjuk idag")
    first, second = await bot.get_updates()
    assert first.message is not None and first.message.text == "/start"
    assert first.message.entities[0].type == "bot_command"
    assert first.message.from_user is not None and first.message.from_user.language_code == "sv"
    assert second.message is not None and second.message.text == "sjuk idag"
    assert second.update_id == first.update_id + 1
    assert fake.pending_updates() == 2
    assert [u.update_id for u in await bot.get_updates(limit=1)] == [first.update_id]
    assert await bot.get_updates(offset=second.update_id + 1) == ()
    assert fake.pending_updates() == 0
    assert fake.delivered_update_ids == [first.update_id, second.update_id]

    for text in ("a", "b", "c"):
        anna.send(text)
    [last] = await bot.get_updates(offset=-1)  # forgets everything before the last
    assert last.message is not None and last.message.text == "c"
    assert fake.pending_updates() == 1

    await bot.get_updates(offset=last.update_id + 1, allowed_updates=["callback_query"])
    anna.send("filtered out")
    assert fake.pending_updates() == 0


async def test_refusals_are_the_real_servers(fake: FakeTelegram, bot: telegram.Bot) -> None:
    """Blocked, unknown chats, texts and buttons the server refuses map onto PTB's errors."""
    started(fake)
    fake.add_user(2002, "Omar")  # never pressed Start
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(2002, "Hej")
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(999, "Hej")
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(ANNA, "x" * 4097)
    await bot.send_message(ANNA, " " + "x" * 4096 + "\n")  # trimmed first
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(ANNA, " \n ")
    long_data = InlineKeyboardMarkup([[InlineKeyboardButton("Ja", callback_data="x" * 65)]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(ANNA, "Hej", reply_markup=long_data)
    with pytest.raises(BadRequest, match=r"(?i)unsupported start tag"):
        await bot.send_message(ANNA, "Ali <3 skolan", parse_mode="HTML")
    with pytest.raises(BadRequest, match="reserved"):
        await bot.send_message(ANNA, "Tack.", parse_mode="MarkdownV2")
    with pytest.raises(BadRequest, match="Wrong parameter action"):
        await bot.send_chat_action(ANNA, "dancing")
    assert await bot.send_chat_action(ANNA, "typing")

    fake.user(ANNA).block()
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(ANNA, "Hej")
    updates = await bot.get_updates()
    member = updates[-1].my_chat_member
    assert member is not None and member.new_chat_member.status == "kicked"
    fake.user(ANNA).unblock()
    await bot.send_message(ANNA, "Hej igen")
    assert [m.text[:3] for m in fake.messages(ANNA)] == ["xxx", "Hej"]


async def test_edits_and_not_modified(fake: FakeTelegram, bot: telegram.Bot) -> None:
    """Edits change the message in place; an identical markup is 'message is not modified'."""
    started(fake)
    sent = await bot.send_message(ANNA, "Välj", reply_markup=YES_NO)
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_reply_markup(ANNA, sent.message_id, reply_markup=YES_NO)
    edited = await bot.edit_message_text("<b>Klart</b>", ANNA, sent.message_id, parse_mode="HTML")
    assert isinstance(edited, telegram.Message) and edited.edit_date is not None
    [message] = fake.messages(ANNA)
    assert (message.text, message.edited, message.reply_markup) == ("Klart", True, None)
    assert message.entities == [{"type": "bold", "offset": 0, "length": 5}]
    assert [version.text for version in message.history] == ["Välj", "Klart"]
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", ANNA, 99)
    user_message = fake.user(ANNA).send("hej")["message"]["message_id"]
    with pytest.raises(BadRequest, match="Message can't be edited"):
        await bot.edit_message_text("x", ANNA, user_message)


async def test_commands(fake: FakeTelegram, bot: telegram.Bot) -> None:
    """setMyCommands/getMyCommands/deleteMyCommands per language; invalid commands refused."""
    assert await bot.set_my_commands([BotCommand("start", "Börja"), ("reports", "Mina")])
    assert await bot.set_my_commands([("start", "Start")], language_code="en")
    assert [c.command for c in await bot.get_my_commands()] == ["start", "reports"]
    assert fake.my_commands(language_code="en") == [{"command": "start", "description": "Start"}]
    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.set_my_commands([("Start", "Versaler")])


async def test_long_polling_wakes_as_soon_as_a_user_writes(
    fake: FakeTelegram, bot: telegram.Bot, api: httpx.AsyncClient
) -> None:
    """A waiting getUpdates returns as soon as the update comes, not at its timeout."""
    anna = fake.add_user(ANNA, "Anna")
    poll = asyncio.create_task(bot.get_updates(timeout=POLL_TIMEOUT))
    await fake.wait_until(lambda: fake.long_polling)
    assert not poll.done()
    anna.send("/start")
    # Woken by the update: long before the poll's own timeout would have ended it.
    [update] = await asyncio.wait_for(poll, timeout=POLL_TIMEOUT / 6)
    assert update.message is not None and update.message.text == "/start"

    waiting = asyncio.create_task(bot.get_updates(offset=update.update_id + 1, timeout=10))
    await fake.wait_until(lambda: fake.long_polling)
    # PTB's own getUpdates pool holds one connection, so the second poller is raw HTTP.
    second = await api.post("getUpdates", data={"offset": update.update_id + 1})
    assert second.json() == {"ok": True, "result": []}
    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await waiting


async def test_webhook_delivery_with_secret_and_retries(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    """With a webhook set, updates are POSTed (secret header, retried) and getUpdates is 409."""
    received: list[tuple[str | None, dict[str, Any]]] = []
    answers = [500, 200]

    async def hook(request: Request) -> Response:
        received.append(
            (request.headers.get("x-telegram-bot-api-secret-token"), await request.json())
        )
        return Response(status_code=answers.pop(0) if answers else 200)

    receiver = LocalServer(Starlette(routes=[Route("/hook", hook, methods=["POST"])]))
    receiver.start()
    try:
        assert await bot.set_webhook(f"{receiver.url}/hook", secret_token="s3cret-1")
        with pytest.raises(Conflict, match="can't use getUpdates method while webhook"):
            await bot.get_updates()
        update = fake.add_user(ANNA, "Anna").send("/start")
        await fake.wait_until(lambda: fake.delivered_update_ids == [update["update_id"]])
        assert [secret for secret, _ in received] == ["s3cret-1", "s3cret-1"]
        assert received[-1][1] == update
        assert [d.status for d in fake.webhook_deliveries] == [500, 200]
        info = await bot.get_webhook_info()
        assert (info.url, info.pending_update_count) == (f"{receiver.url}/hook", 0)
        assert info.last_error_message == (
            "Wrong response from the webhook: 500 Internal Server Error"
        )
    finally:
        receiver.stop()
    assert await bot.delete_webhook()
    assert not any(call.params.get("drop_pending_updates") for call in fake.calls("deleteWebhook"))
    assert await bot.get_updates() == ()


async def test_the_webhook_answer_can_call_a_method(fake: FakeTelegram, bot: telegram.Bot) -> None:
    """A JSON method in the webhook's response is executed, like the real server does."""

    async def hook(request: Request) -> Response:
        update = await request.json()
        chat_id = update["message"]["chat"]["id"]
        return JSONResponse({"method": "sendMessage", "chat_id": chat_id, "text": "Hej!"})

    receiver = LocalServer(Starlette(routes=[Route("/", hook, methods=["POST"])]))
    receiver.start()
    try:
        await bot.set_webhook(f"{receiver.url}/")
        fake.add_user(ANNA, "Anna").start()
        assert (await fake.next_message(ANNA)).text == "Hej!"
        assert fake.calls("sendMessage")[0].source == "webhook-reply"
    finally:
        receiver.stop()


async def test_protocol_details_over_raw_http(
    fake: FakeTelegram, api: httpx.AsyncClient
) -> None:
    """Unknown methods, tokens, types and JSON bodies are answered like the real server."""
    started(fake)
    not_found = await api.post("sendTelepathy")
    assert (not_found.status_code, not_found.json()) == (
        404, {"ok": False, "error_code": 404, "description": "Not Found"}
    )
    unauthorized = await api.post(f"{fake.base_url}123:wrong/getMe")
    assert (unauthorized.status_code, unauthorized.json()["description"]) == (401, "Unauthorized")
    missing = await api.post("sendMessage", data={"text": "Hej"})
    assert missing.json()["description"] == "Bad Request: chat_id is empty"
    wrong_type = await api.post("getUpdates", data={"limit": "many"})
    assert wrong_type.status_code == 400
    broken_json = await api.post("sendMessage", data={"chat_id": ANNA, "text": "Hej",
                                                      "reply_markup": "{inline"})
    assert "can't parse reply keyboard markup JSON object" in broken_json.json()["description"]
    text_button = await api.post("sendMessage", json={
        "chat_id": ANNA, "text": "Hej", "reply_markup": {"inline_keyboard": [[{"text": "Ja"}]]},
    })
    assert "Text buttons are unallowed" in text_button.json()["description"]
    two_actions = {"text": "Ja", "callback_data": "y", "url": "https://example.org"}
    both = await api.post("sendMessage", json={
        "chat_id": ANNA, "text": "Hej", "reply_markup": {"inline_keyboard": [[two_actions]]},
    })
    assert "exactly one of the optional fields" in both.json()["description"]
    no_text = await api.post("sendMessage", json={"chat_id": ANNA, "reply_markup": {
        "inline_keyboard": [[{"callback_data": "y"}]]}})
    assert no_text.json()["description"] == "Bad Request: message text is empty"
    missing_field = await api.post("sendMessage", json={"chat_id": ANNA, "text": "Hej",
        "reply_markup": {"inline_keyboard": [[{"callback_data": "y"}]]}})
    assert missing_field.json()["description"] == (
        "Bad Request: can't parse InlineKeyboardButton: Can't find field \"text\""
    )
    by_query = await api.get("sendMessage", params={"chat_id": str(ANNA), "text": "frågetecken?"})
    assert by_query.json()["result"]["text"] == "frågetecken?"
    by_json = await api.post("sendMessage", json={"chat_id": ANNA, "text": "json"})
    body = by_json.json()
    assert body["ok"] and set(body["result"]) == {"message_id", "from", "chat", "date", "text"}
    multipart = await api.post("setWebhook", data={"url": "http://127.0.0.1:9/x"},
                               files={"certificate": ("cert.pem", b"PEM")})
    assert multipart.json() == {"ok": True, "result": True, "description": "Webhook was set"}
    info = (await api.get("getWebhookInfo")).json()["result"]
    assert info["has_custom_certificate"] is True
    unimplemented = await api.post("sendDocument", data={"chat_id": ANNA})
    assert unimplemented.status_code == 501
    await api.post("logOut")
    assert (await api.post("getMe")).status_code == 401


async def test_responses_match_the_spec(fake: FakeTelegram, api: httpx.AsyncClient) -> None:
    """Every object the fake returns uses the real field names and has the required ones."""
    anna = fake.add_user(ANNA, "Anna", last_name="Berg", username="anna_b")
    anna.start()
    markup = {"inline_keyboard": [[{"text": "Ja", "callback_data": "yes"}]]}
    sent = (await api.post("sendMessage", json={"chat_id": ANNA, "text": "Hej",
                                                "reply_markup": markup})).json()["result"]
    check_against_spec(sent, "Message")
    anna.tap("Ja")
    anna.share_contact("+46701234501")
    anna.block()
    updates = (await api.post("getUpdates")).json()["result"]
    assert [next(k for k in u if k != "update_id") for u in updates] == [
        "message", "callback_query", "message", "my_chat_member"
    ]
    for update in updates:
        check_against_spec(update, "Update")
    check_against_spec((await api.post("getMe")).json()["result"], "User")
    check_against_spec((await api.post("getWebhookInfo")).json()["result"], "WebhookInfo")
    with pytest.raises(AssertionError, match="unknown fields"):
        check_against_spec({**sent, "sender": 1}, "Message")
    spec = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    assert "Paul Larsen" in spec["license"] and spec["version"] == "Bot API 10.1"


def test_parse_modes_like_telegram() -> None:
    """HTML, MarkdownV2 and Markdown give Telegram's plain text and UTF-16 entity offsets."""
    assert format_text("<b>Hej</b> &lt;Ali&gt; &amp; 😀 <i>x</i>", "HTML") == (
        "Hej <Ali> & 😀 x",
        [{"type": "bold", "offset": 0, "length": 3},
         {"type": "italic", "offset": 15, "length": 1}],  # the emoji is two UTF-16 units
    )
    assert format_text('<a href="https://x.se">länk</a>', "html")[1] == [
        {"type": "text_link", "offset": 0, "length": 4, "url": "https://x.se"}
    ]
    assert format_text("*fet* _kursiv_ \\. [l](https://x.se)", "MarkdownV2") == (
        "fet kursiv . l",
        [{"type": "bold", "offset": 0, "length": 3}, {"type": "italic", "offset": 4, "length": 6},
         {"type": "text_link", "offset": 13, "length": 1, "url": "https://x.se"}],
    )
    assert format_text("*fet* 1.5", "Markdown")[0] == "fet 1.5"
    assert format_text("  hej  ", entities=[{"type": "bold", "offset": 0, "length": 5}]) == (
        "hej", [{"type": "bold", "offset": 0, "length": 3}]
    )
    for text, mode, error in [
        ("<b>x", "HTML", 'end tag corresponding to start tag "b"'),
        ("<b>x</i>", "HTML", "Unmatched end tag"),
        ("*x", "MarkdownV2", "Can't find end of Bold entity"),
        ("_x", "Markdown", "Can't find end of the entity"),
        ("x", "Klingon", "unsupported parse_mode"),
    ]:
        with pytest.raises(Exception, match=error):
            format_text(text, mode)


async def test_an_application_polls_answers_and_shuts_down_cleanly(fake: FakeTelegram) -> None:
    """A real PTB Application: /start → keyboard, tap → edit; the last offset is confirmed."""

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text("Är Ali sjuk?", reply_markup=YES_NO)

    async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer()
        await query.edit_message_text(f"Du svarade {query.data}")

    app = Application.builder().token(fake.token).base_url(fake.base_url).build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(answer))
    anna = fake.add_user(ANNA, "Anna")
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=5)
        anna.start()
        question = await fake.next_message(ANNA)
        assert question.buttons == ["Ja", "Nej"]
        anna.tap("Ja")
        edited = await fake.wait_until(
            lambda: next((m for m in fake.messages(ANNA) if m.edited), None)
        )
        assert edited.text == "Du svarade yes" and edited.buttons == []
        await fake.wait_idle()
        await app.updater.stop()
        await app.stop()
    assert fake.pending_updates() == 0
    methods = [call.method for call in fake.calls() if not call.abandoned]
    assert methods[:3] == ["getMe", "deleteWebhook", "getUpdates"]
    assert methods[-1] == "getUpdates"
    assert not any(call.params.get("drop_pending_updates") for call in fake.calls("deleteWebhook"))
    assert fake.server_errors == []


async def test_sync_wait_for_from_another_thread(fake: FakeTelegram, bot: telegram.Bot) -> None:
    """wait_for blocks a thread (e.g. next to a subprocess bot) until the state matches."""
    started(fake)
    waiting = asyncio.create_task(
        asyncio.to_thread(fake.wait_for, lambda: fake.messages(ANNA), 2.0)
    )
    await asyncio.sleep(0.02)
    await bot.send_message(ANNA, "Hej")
    [message] = await waiting
    assert message.text == "Hej"
    assert (await fake.next_message(ANNA)).text == "Hej"
    with pytest.raises(AssertionError, match="no new message to chat 1001"):
        await fake.next_message(ANNA, timeout=0.05)


def test_a_stopped_fake_refuses_connections() -> None:
    """stop() closes the port (benchmarks/fakes.py times a start and stop)."""
    with FakeTelegram() as fake:
        port = fake.port
        assert httpx.get(f"{fake.base_url}{fake.token}/getMe", trust_env=False).json()["ok"]
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/", trust_env=False)
    with pytest.raises(RuntimeError):
        _ = fake.port


async def test_wrong_token_is_invalid_token_for_ptb(fake: FakeTelegram) -> None:
    """PTB turns the 401 into InvalidToken at initialize()."""
    with pytest.raises(InvalidToken):
        async with telegram.Bot("123456:other", base_url=fake.base_url):
            pass
