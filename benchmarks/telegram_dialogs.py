"""Report dialogs through Telegram per second, and our per-update cost against a bare PTB bot.

Run: python benchmarks/telegram_dialogs.py [--guardians 20] [--dialogs 10] [--repeat 5]
                                          [--students 600]

One fake Bot API server (tests/fakes) runs in this process on loopback, with
the simulated people. Each bot runs as its own process against it, one after
the other in the same run:
- a bare python-telegram-bot echo bot (benchmarks/echo_bot.py): each update is
  answered with one sendMessage;
- the real `narvaro run` on a fresh SQLite file, first without its Telegram rate
  limit (NARVARO_TELEGRAM_RATE_LIMIT=0: its own cost, as the echo bot has no limit),
  then with the default 30 messages/s: every guardian is linked
  first and completes one report (not timed, so lazy loading is not counted),
  then completes report dialogs ("sjuk 24/11" → receipt, recorded at once): one
  update and one answer each.
Guardians write concurrently, each waiting for the answer before going on, as
people do. Printed for each bot: wall time per update, the bot process's own
CPU time per update (user + system, from /proc), and their ratios; and
complete report dialogs per second; for Närvaro, the SQL statements and transactions
per update (counted by benchmarks/counted_run.py). With --repeat N the echo bot and the
unlimited Närvaro run N times in turn, and the median of the N ratios is printed: on a
shared machine one pair's ratio varies by a third either way. With --no-work each
repetition also runs Närvaro answering without the message's work (benchmarks/counted_run.py:
the chat's last answers sent again through the channel, no database, no decisions): what
our runtime costs around the work, against the echo bot.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from policy.calendar import SchoolCalendar  # noqa: E402
from tests.fakes.telegram_api import FakeTelegram, FakeUser  # noqa: E402
from tests.telegram_harness import free_port  # noqa: E402

START = date(2026, 11, 23)
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Figures:
    """What one timed phase measured."""

    updates: int
    seconds: float
    cpu_seconds: float
    latencies: list[float]
    #: SQL statements and transactions in the timed phase (Närvaro only).
    statements: int = 0
    transactions: int = 0

    @property
    def per_update_ms(self) -> float:
        """Wall time per update, with the people writing concurrently."""
        return 1000 * self.seconds / self.updates

    @property
    def cpu_per_update_ms(self) -> float:
        """The bot process's own CPU time per update."""
        return 1000 * self.cpu_seconds / self.updates


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


async def converse(
    fake: FakeTelegram, user: FakeUser, steps: list[tuple[str, str]], latencies: list[float]
) -> None:
    """Send each step (("text", x) or ("tap", label)) and wait for the answer to it."""
    for kind, value in steps:
        began = time.perf_counter()
        if kind == "text":
            user.send(value)
        else:
            user.tap(value)
        await fake.next_message(user.chat_id, timeout=60)
        latencies.append(time.perf_counter() - began)


async def timed(
    fake: FakeTelegram, process: subprocess.Popen[bytes],
    conversations: list[tuple[FakeUser, list[tuple[str, str]]]],
) -> Figures:
    """Run the conversations side by side; measure wall time and the bot's CPU."""
    latencies: list[float] = []
    began, cpu = time.perf_counter(), cpu_seconds(process.pid)
    await asyncio.gather(*(converse(fake, user, steps, latencies)
                           for user, steps in conversations))
    elapsed, used = time.perf_counter() - began, cpu_seconds(process.pid) - cpu
    updates = sum(len(steps) for _user, steps in conversations)
    return Figures(updates, elapsed, used, latencies)


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start a bot process with its output going to `log`."""
    with log.open("wb") as out:
        return subprocess.Popen(command, env={**os.environ, **env}, stdout=out,
                                stderr=subprocess.STDOUT, cwd=ROOT, stdin=subprocess.PIPE)


async def sql_counts(process: subprocess.Popen[bytes], folder: Path) -> tuple[int, int]:
    """The statements and transactions a counted `narvaro run` has run so far."""
    target = folder / f"counts-{time.monotonic_ns()}"
    assert process.stdin is not None
    process.stdin.write(f"{target}\n".encode())
    process.stdin.flush()
    while not target.exists():  # noqa: ASYNC110 (another process writes it)
        await asyncio.sleep(0.01)
    statements, transactions = target.read_text().split()
    return int(statements), int(transactions)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Interrupt a bot as Ctrl-C would, and wait for it."""
    process.send_signal(2)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def bare_echo_bot(
    fake: FakeTelegram, folder: Path, guardians: int, updates: int, run: int = 0
) -> Figures:
    """The bare PTB echo bot, `updates` messages from each of `guardians` people (`run`:
    which repetition, for fresh people)."""
    process = start([sys.executable, str(ROOT / "benchmarks" / "echo_bot.py")],
                    {"ECHO_TOKEN": fake.token, "ECHO_BASE_URL": fake.base_url},
                    folder / f"echo-{run}.log")
    try:
        first = 700_000 + 1_000 * run
        users = [fake.add_user(first + n, f"Echo {n}") for n in range(guardians)]
        await asyncio.gather(*(converse(fake, user, [("text", "warm-up")], [])
                               for user in users))
        return await timed(fake, process, [
            (user, [("text", f"hej {i}") for i in range(updates)]) for user in users
        ])
    finally:
        stop(process)


def write_roster(folder: Path, guardians: int, students: int = 0) -> list[str]:
    """Students and staff files: a school of `students` students (at least `guardians`),
    each with a guardian of their own; the phones of the first `guardians` guardians."""
    phones = [f"+4670174{n:04d}" for n in range(max(guardians, students))]
    header = ("school,class,student_id,student_name,student_language,student_phone,"
              "student_adult,guardian_name,guardian_phone,guardian_language,mentor_phone\n")
    (folder / "students.csv").write_text(header + "".join(
        f"Benchskolan,7A,B{n:04d},Elev{n} Test,sv,,no,Förälder{n} Test,{phone},sv,+46701739999\n"
        for n, phone in enumerate(phones)
    ), encoding="utf-8")
    (folder / "staff.csv").write_text(
        "school,name,phone,role,language\nBenchskolan,Mentor Test,+46701739999,mentor,sv\n",
        encoding="utf-8",
    )
    return phones[:guardians]


async def narvaro(
    fake: FakeTelegram, folder: Path, guardians: int, dialogs: int, rate_limit: float,
    profile: str | None = None, run: int = 0, students: int = 0, no_work: bool = False,
) -> Figures:
    """`narvaro run`: link every guardian, then time their report dialogs (with `profile`,
    py-spy samples the timed phase into that file, collapsed stacks; `run`: which
    repetition, for fresh people; `students`: the school's size, if more than one student
    for each guardian; `no_work`: the timed messages answered without their work)."""
    folder = folder / f"narvaro-{rate_limit:g}-{run}{'-no-work' if no_work else ''}"
    folder.mkdir()
    env = {
        "NARVARO_TELEGRAM_RATE_LIMIT": str(rate_limit),
        # Each simulated guardian answers at once, faster than a person: no per-chat pacing.
        "NARVARO_TELEGRAM_CHAT_RATE": "0",
        "NARVARO_DATABASE_URL": f"sqlite:///{folder / 'bench.db'}",
        "NARVARO_TELEGRAM_TOKEN": fake.token, "NARVARO_TELEGRAM_API_URL": fake.base_url,
        "NARVARO_DEMO": "0", "NARVARO_WEBCHAT": "0", "NARVARO_HTTP_PORT": str(free_port()),
        "NARVARO_CLOCK_START": "2026-11-23T08:00:00+01:00", "NARVARO_LOG_LEVEL": "WARNING",
    }
    phones = write_roster(folder, guardians, students)
    subprocess.run(  # noqa: ASYNC221 (set-up, before anything is timed)
        [sys.executable, "-m", "bot.cli", "roster", "import", "--students",
         str(folder / "students.csv"), "--staff", str(folder / "staff.csv")],
        env={**os.environ, **env}, cwd=ROOT, check=True, capture_output=True,
    )
    process = start([sys.executable, str(ROOT / "benchmarks" / "counted_run.py")], env,
                    folder / "narvaro.log")
    try:
        first = 800_000 + (100_000 if rate_limit else 0) + 50_000 * no_work + 1_000 * run
        users = [fake.add_user(first + n, f"Guardian {n}") for n in range(guardians)]
        await asyncio.gather(*(link(fake, user, phone)
                               for user, phone in zip(users, phones, strict=True)))
        school_days = SchoolCalendar("SE").school_days(START + timedelta(days=1),
                                                       START + timedelta(days=29))
        warm_up, *days = school_days[:dialogs + 1]
        await asyncio.gather(*(converse(fake, user, dialog(warm_up), []) for user in users))
        steps = [step for day in days for step in dialog(day)]
        if no_work:
            assert process.stdin is not None
            process.stdin.write(b"no-work\n")
            process.stdin.flush()
        profiler = None if not profile else subprocess.Popen(  # noqa: ASYNC220
            [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(process.pid),
             "--format", "raw", "--rate", "250", "--output", profile, "--threads"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        statements, transactions = await sql_counts(process, folder)
        figures = await timed(fake, process, [(user, steps) for user in users])
        after = await sql_counts(process, folder)
        if profiler is not None:
            profiler.send_signal(2)
            profiler.wait()
        figures.statements, figures.transactions = (after[0] - statements,
                                                    after[1] - transactions)
        return figures
    except BaseException:
        stop(process)
        sys.stderr.write((folder / "narvaro.log").read_text()[-3000:])
        raise
    finally:
        stop(process)


def dialog(day: date) -> list[tuple[str, str]]:
    """A complete report: the guardian writes "sjuk 24/11" and gets the receipt."""
    return [("text", f"sjuk {day.day}/{day.month}")]


async def link(fake: FakeTelegram, user: FakeUser, phone: str) -> None:
    """/start and share the number, as a guardian does once."""
    await converse(fake, user, [("text", "/start")], [])
    user.share_contact(phone)
    await fake.next_message(user.chat_id, timeout=60)


def show(name: str, figures: Figures) -> None:
    """Print one bot's figures."""
    print(f"{name}: {figures.updates} updates in {figures.seconds:.2f} s: "
          f"{figures.per_update_ms:.2f} ms/update wall, "
          f"{figures.cpu_per_update_ms:.2f} ms/update CPU of the bot process, "
          f"median round trip {1000 * statistics.median(figures.latencies):.1f} ms")
    if figures.statements:
        print(f"  {figures.statements / figures.updates:.1f} SQL statements and "
              f"{figures.transactions / figures.updates:.1f} transactions per update")


async def main(arguments: argparse.Namespace) -> None:
    """Run both bots against one fake server and print the figures."""
    pairs: list[tuple[Figures, Figures]] = []
    bare: list[Figures] = []
    with tempfile.TemporaryDirectory() as folder, FakeTelegram() as fake:
        for run in range(arguments.repeat):
            echo = await bare_echo_bot(fake, Path(folder), arguments.guardians,
                                       2 * arguments.dialogs, run)
            ours = await narvaro(fake, Path(folder), arguments.guardians, arguments.dialogs,
                                 0, arguments.profile if run == 0 else None, run,
                                 arguments.students)
            pairs.append((echo, ours))
            if arguments.no_work:
                bare.append(await narvaro(fake, Path(folder), arguments.guardians,
                                          arguments.dialogs, 0, run=run,
                                          students=arguments.students, no_work=True))
        limited = await narvaro(fake, Path(folder), arguments.guardians, arguments.dialogs, 30,
                                students=arguments.students)
    for run, (echo, ours) in enumerate(pairs):
        if arguments.repeat > 1:
            print(f"run {run + 1}:")
        show("bare PTB echo bot", echo)
        show("Närvaro          ", ours)
        print(f"per-update cost, Närvaro / bare bot: "
              f"wall {ours.per_update_ms / echo.per_update_ms:.2f}x, "
              f"CPU {ours.cpu_per_update_ms / echo.cpu_per_update_ms:.2f}x")
        if bare:
            show("Närvaro without the work", bare[run])
            print(f"per-update cost without the work, Närvaro / bare bot: CPU "
                  f"{bare[run].cpu_per_update_ms / echo.cpu_per_update_ms:.2f}x")
    show("Närvaro at Telegram's 30 messages/s", limited)
    dialogs = ours.updates // len(dialog(START))
    print(f"complete report dialogs: {dialogs} in {ours.seconds:.2f} s = "
          f"{dialogs / ours.seconds:.1f} dialogs/s")
    if arguments.repeat > 1:
        cpu = [o.cpu_per_update_ms / e.cpu_per_update_ms for e, o in pairs]
        wall = [o.per_update_ms / e.per_update_ms for e, o in pairs]
        print(f"median of {len(pairs)} runs, Närvaro / bare bot: "
              f"wall {statistics.median(wall):.2f}x, CPU {statistics.median(cpu):.2f}x "
              f"(CPU {min(cpu):.2f}x–{max(cpu):.2f}x); Närvaro's CPU per update, median "
              f"{statistics.median(o.cpu_per_update_ms for _e, o in pairs):.2f} ms, the "
              f"echo bot's {statistics.median(e.cpu_per_update_ms for e, _o in pairs):.2f} ms")
        if bare:
            idle = [b.cpu_per_update_ms / e.cpu_per_update_ms
                    for (e, _o), b in zip(pairs, bare, strict=True)]
            print(f"median of {len(pairs)} runs without the work, Närvaro / bare bot: CPU "
                  f"{statistics.median(idle):.2f}x ({min(idle):.2f}x–{max(idle):.2f}x)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guardians", type=int, default=20)
    parser.add_argument("--dialogs", type=int, default=10)
    parser.add_argument("--students", type=int, default=0,
                        help="students at the school, if more than the guardians' children "
                             "(a real school has hundreds; each message is compared with "
                             "their names)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run the echo bot and Närvaro this many times in turn and print "
                             "the median ratio")
    parser.add_argument("--no-work", action="store_true",
                        help="also run Närvaro answering each timed message without its work "
                             "(last answers sent again; no database): the runtime's own cost")
    parser.add_argument("--profile", metavar="FILE",
                        help="sample Närvaro's timed phase with py-spy (pip install py-spy) "
                             "into FILE, as collapsed stacks")
    asyncio.run(main(parser.parse_args()))
