"""The corpus of guardians' messages for tests/test_corpus.py: as people really write them
(typos, no diacritics, emoji, abbreviations, several children, ranges, past days, thanks and
questions that are no report), each with what a careful reader records.

The clock is Monday 23 November 2026, 07:30 in Stockholm unless a message says otherwise
(EVENING: 18:00 that Monday, after the school day; SATURDAY: 28 November, 10:00).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("Europe/Stockholm")
MORNING = datetime(2026, 11, 23, 7, 30, tzinfo=ZONE)
EVENING = datetime(2026, 11, 23, 18, 0, tzinfo=ZONE)
SATURDAY = datetime(2026, 11, 28, 10, 0, tzinfo=ZONE)

#: family: (guardian, phone, language, children)
FAMILIES: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "sv2": ("Lena Hassan", "+46702000001", "sv", ("Ali Hassan", "Sara Hassan")),
    "sv1": ("Omar Lind", "+46702000002", "sv", ("Elias Lind",)),
    "sv3": ("Karin Ek", "+46702000003", "sv", ("Alva Ek", "Oskar Ek", "Liam Ek")),
    "nb2": ("Kari Dahl", "+4741230004", "nb", ("Ola Dahl", "Ingrid Dahl")),
    "nb1": ("Per Moen", "+4741230005", "nb", ("Sander Moen",)),
    "nb3": ("Siri Bakke", "+4741230006", "nb", ("Jonas Bakke", "Nora Bakke", "Emma Bakke")),
    "da2": ("Mette Holm", "+4520230007", "da", ("Emil Holm", "Freja Holm")),
    "da1": ("Jens Lund", "+4520230008", "da", ("Mads Lund",)),
    "en2": ("John Smith", "+447911230009", "en", ("Adam Smith", "Lucy Smith")),
    "en1": ("Mary Jones", "+447911230010", "en", ("Ben Jones",)),
    "ar2": ("Mona Haddad", "+46702000011", "ar", ("Omar Haddad", "Lina Haddad")),
    "ar1": ("Yasmin Saleh", "+46702000012", "ar", ("Karim Saleh",)),
    "so2": ("Hodan Warsame", "+46702000013", "so", ("Ayaan Warsame", "Hibo Warsame")),
    "so1": ("Faadumo Nuur", "+46702000014", "so", ("Yusuf Nuur",)),
    "ti2": ("Selam Tesfay", "+46702000015", "ti", ("Yonas Tesfay", "Senait Tesfay")),
    "ti1": ("Abrham Kidane", "+46702000016", "ti", ("Filmon Kidane",)),
    "fa2": ("Maryam Ahmadi", "+46702000017", "fa", ("Reza Ahmadi", "Nazanin Ahmadi")),
    "fa1": ("Hamid Karimi", "+46702000018", "fa", ("Arash Karimi",)),
    "uk2": ("Olena Kovalenko", "+46702000019", "uk", ("Taras Kovalenko", "Oksana Kovalenko")),
    "uk1": ("Ivan Shevchenko", "+46702000020", "uk", ("Andriy Shevchenko",)),
    "pl2": ("Anna Nowak", "+46702000021", "pl", ("Piotr Nowak", "Zofia Nowak")),
    "pl1": ("Marek Wiśniewski", "+46702000022", "pl", ("Tomek Wiśniewski",)),
}
#: Students at the school who are nobody's child here.
OTHER_STUDENTS = ("Elsa Berg", "Maja Svensson", "Dag Olsen", "Noah Berg", "Leo Sandberg")


@dataclass(frozen=True)
class Expected:
    """What a careful reader records: these children, these days, this reason."""

    children: tuple[str, ...]
    first: date
    last: date
    reason: str
    part: str | None = None


@dataclass(frozen=True)
class Message:
    """One message from a family's guardian, and what it should record (None: nothing)."""

    family: str
    text: str
    expected: Expected | None
    at: datetime = MORNING
    channel: str = "sms"
    notice: str | None = None  # an open same-day notice about this child


def _day(text: str) -> date:
    day, _, month = text.partition("/")
    return date(2026, int(month or 11), int(day))


def r(children: str, days: str, reason: str, part: str | None = None) -> Expected:
    """Expected("Ali,Sara", "23-25" or "30/11-4/12", "sick")."""
    first, _, last = days.partition("-")
    return Expected(tuple(children.split(",")), _day(first), _day(last or first), reason,
                    part)


def m(family: str, text: str, expected: Expected | None = None, **options: object) -> Message:
    """A message of the corpus."""
    return Message(family, text, expected, **options)  # type: ignore[arg-type]


CORPUS: list[Message] = [
    # --- Swedish ---
    m("sv1", "Elias sjuk", r("Elias", "23", "sick")),
    m("sv1", "sjuk", r("Elias", "23", "sick")),
    m("sv1", "Elias sjuk 🤒", r("Elias", "23", "sick")),
    m("sv1", "Elias är hemma med feber", r("Elias", "23", "sick")),
    m("sv1", "elias sjuk idag", r("Elias", "23", "sick")),
    m("sv1", "Elias är sjuk i dag", r("Elias", "23", "sick")),
    m("sv1", "Hej! Elias är förkyld och stannar hemma idag. Mvh Omar", r("Elias", "23", "sick")),
    m("sv1", "Elias har magsjuka, hemma idag och imorgon", r("Elias", "23-24", "sick")),
    m("sv1", "Elias är sjuk hela veckan", r("Elias", "23-27", "sick")),
    m("sv1", "Elias sjuk t.o.m. onsdag", r("Elias", "23-25", "sick")),
    m("sv1", "Elias var sjuk i fredags", r("Elias", "20", "sick")),
    m("sv1", "Elias var sjuk i torsdags och fredags", r("Elias", "19-20", "sick")),
    m("sv1", "Elias tandläkare 10-12", r("Elias", "23", "medical", "10:00-12:00")),
    m("sv1", "Elias har tid hos läkaren kl 13.00-14.30 idag",
      r("Elias", "23", "medical", "13:00-14:30")),
    m("sv1", "Elias sjuk imorn", r("Elias", "24", "sick")),
    m("sv1", "Elias ska på begravning på fredag", r("Elias", "27", "family")),
    m("sv1", "Elias sjuk mån-ons", r("Elias", "23-25", "sick")),
    m("sv1", "Elias är sjuk", r("Elias", "24", "sick"), at=EVENING),
    m("sv1", "Elias sjuk", r("Elias", "30", "sick"), at=SATURDAY),
    m("sv1", "Tack!"),
    m("sv1", "Tack så mycket"),
    m("sv1", "När slutar skolan på fredag?"),
    m("sv1", "Elias sjuk 24/11", r("Elias", "24", "sick")),
    m("sv1", "elias ar sjuk idag", r("Elias", "23", "sick")),
    m("sv1", "Elias har ont i magen, stannar hemma", r("Elias", "23", "sick")),
    m("sv2", "Ali sjuk idag", r("Ali", "23", "sick")),
    m("sv2", "Båda barnen är sjuka idag", r("Ali,Sara", "23", "sick")),
    m("sv2", "Ali och Sara är sjuka", r("Ali,Sara", "23", "sick")),
    m("sv2", "sjuk idag", r("Sara", "23", "sick")),
    m("sv2", "Sara har feber, hemma resten av veckan", r("Sara", "23-27", "sick")),
    m("sv2", "Elsa Berg är sjuk idag"),
    m("sv2", "Hon är sjuk", r("Ali", "23", "sick"), notice="Ali"),
    m("sv2", "Elsa Berg är sjuk idag", notice="Ali"),
    m("sv3", "Alla tre är sjuka idag", r("Alva,Liam,Oskar", "23", "sick")),
    m("sv3", "Oskar är sjuk hela veckan", r("Oskar", "23-27", "sick")),
    m("sv3", "Alva var sjuk i måndags förra veckan", r("Alva", "16", "sick")),
    m("sv3", "Båda barnen är sjuka", r("Alva", "23", "sick")),
]
