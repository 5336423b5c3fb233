"""`narvaro run`, counting the SQL statements and transactions it runs (for
benchmarks/telegram_dialogs.py).

Each line written to its standard input names a file; the counts so far are written
there as "statements transactions". Counting costs a function call per statement.

The line `no-work` switches to answering without the message's work: each Telegram
message is answered by sending again, through the channel's own `send`, the answers the
chat's last message got, and nothing is read or written (what a message costs beyond
its database work and decisions, for `telegram_dialogs.py --no-work`).
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

counts = {"statements": 0, "transactions": 0}
no_work = threading.Event()


@event.listens_for(Engine, "before_cursor_execute")
def _statement(*_args: Any) -> None:
    counts["statements"] += 1


@event.listens_for(Engine, "begin")
def _transaction(*_args: Any) -> None:
    counts["transactions"] += 1


def _answer() -> None:
    for line in sys.stdin:
        if line.strip() == "no-work":
            no_work.set()
            continue
        target = Path(line.strip())
        partial = target.with_suffix(".partial")
        partial.write_text(f"{counts['statements']} {counts['transactions']}")
        partial.rename(target)


def _answer_without_work() -> None:
    """Once `no-work` is read, a message's answers are last time's, sent again."""
    from bot.channels.base import Claimed
    from bot.telegram import TelegramBot
    from handlers.linking import ChatMessage

    handle = TelegramBot._handle_patiently
    last: dict[int, Claimed] = {}

    async def handle_or_repeat(self: TelegramBot, message: ChatMessage) -> Claimed:
        answers = last.get(message.chat_id)
        if no_work.is_set() and answers:
            for row, person in answers:
                await self.send(row, person)
            return []
        answers = await handle(self, message)
        last[message.chat_id] = answers
        return answers

    TelegramBot._handle_patiently = handle_or_repeat  # type: ignore[method-assign]


if __name__ == "__main__":
    threading.Thread(target=_answer, daemon=True).start()
    _answer_without_work()
    from bot.cli import main

    sys.exit(main(["run"]))
