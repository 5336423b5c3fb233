"""A bare python-telegram-bot echo bot: the baseline for benchmarks/telegram_dialogs.py.

Run: ECHO_TOKEN=… ECHO_BASE_URL=http://127.0.0.1:PORT/bot python benchmarks/echo_bot.py
It answers every text message with the same text, polling with PTB's defaults.
"""

from __future__ import annotations

import os

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters


async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer with the same text."""
    assert update.effective_chat is not None and update.message is not None
    await update.get_bot().send_message(update.effective_chat.id, update.message.text or "")


def main() -> None:
    """Poll until interrupted."""
    app = (
        ApplicationBuilder().token(os.environ["ECHO_TOKEN"])
        .base_url(os.environ["ECHO_BASE_URL"]).build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.run_polling(drop_pending_updates=False)


if __name__ == "__main__":
    main()
