"""A guardian takes back a leave application the school has not decided: the receipt's
button in Telegram, its number by SMS, `/withdraw`, or the reference with a word. The
decider's task closes and they are told; the guardian gets a confirmation; it is audited.
In process (tests/transcript.py), Monday 23 November 2026: Omar (Ali, 7A) applies for three
days, which the principal decides; Kari (Noor, 7A) for two, which Anna the mentor decides.
"""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, col, select

from bot.cli import main
from policy.leave import withdrawal_reference
from storage.leave import pending_applications
from storage.models import AuditLog, LeaveApplication, StaffTask
from tests.telegram_harness import MENTOR_PHONE
from tests.transcript import House

OMAR, KARI, PRINCIPAL = "+46701234502", "+4741234503", "+46701112234"
WEDDING = "Kan Ali vara ledig 1–3 december? Vi ska på bröllop i Göteborg"
FUNERAL = "Søknad om permisjon for Noor 24.–25. november, vi skal i begravelse"
LEAVE_REF = re.compile(r"L-[A-Z0-9]{5}")


@pytest.mark.parametrize(("text", "found"), [
    ("Återkalla L-7K3QF", "L-7K3QF"), ("withdraw l-7k3qf please", "L-7K3QF"),
    ("avbryt L-7K3QF", "L-7K3QF"), ("trekk tilbake L-7K3QF", "L-7K3QF"),
    ("jooji L-7K3QF", "L-7K3QF"), ("ሰርዝ L-7K3QF", "L-7K3QF"), ("لغو L-7K3QF", "L-7K3QF"),
    ("wycofuję wniosek L-7K3QF", "L-7K3QF"),
    ("L-7K3QF", None), ("Vi kommer tillbaka fredag, L-7K3QF", None),
    ("återkalla", None), ("Återkalla L-7K3QF och L-AC3DE", None),
    ("Avbryt L-7K3QF, vi har pratat med mentorn och resan blir av ändå", None),
])
def test_the_words_that_take_an_application_back(text: str, found: str | None) -> None:
    """A reference and a word that takes it back (or cancels), in a short message."""
    assert withdrawal_reference(text) == found


def reference(text: str) -> str:
    """The one application reference in a text."""
    [found] = LEAVE_REF.findall(text)
    return found


def statuses(house: House) -> dict[str, str]:
    """Every application's status by reference."""
    with Session(house.engine) as session:
        return {a.reference: a.status for a in session.exec(select(LeaveApplication))}


def test_withdrawn_from_the_receipt_it_leaves_the_principals_list(house: House) -> None:
    """Omar taps Withdraw on his receipt: confirmed; the principal is told (without the
    family's words) and her task is gone; a second tap changes nothing more."""
    omar = house.telegram(OMAR)
    omar.link()
    receipt = omar.say(WEDDING)
    ref = reference(receipt.text)
    assert receipt.buttons == ["Återkalla ansökan"]
    principal = house.sms(PRINCIPAL)
    assert ref in principal.reply().text  # the application, to decide
    assert principal.say("/tasks").startswith("Du har 1 öppen uppgift.")

    confirmed = omar.tap("Återkalla ansökan")
    assert confirmed.text == (
        f"Ansökan {ref} (ledighet för Ali) är återkallad. Skolan har fått besked.")
    told = principal.reply().text
    assert told == (f"Ledighetsansökan {ref} (Ali Hassan (7A)) har återkallats av den som "
                    "sökte: det finns inget att besluta.")
    assert "bröllop" not in told
    assert principal.say("/tasks").startswith("Du har 0 öppna uppgifter.")
    with Session(house.engine) as session:
        assert pending_applications(session) == []
        [task] = session.exec(select(StaffTask).where(StaffTask.kind == "leave_decision"))
        assert (task.status, task.outcome) == ("not_needed", "withdrawn")
        trail = session.exec(select(AuditLog).where(
            col(AuditLog.action).startswith("leave.")).order_by(col(AuditLog.id))).all()
        assert [(row.action, row.entity_id) for row in trail] == [
            ("leave.apply", ref), ("leave.withdraw", ref)]
    assert statuses(house) == {ref: "withdrawn"}
    assert main(["leave", "decide", ref, "--grant-all"]) == 2  # nothing left to decide

    assert omar.tap("Återkalla ansökan").text == confirmed.text
    assert principal.unread() == []  # told once
    assert statuses(house) == {ref: "withdrawn"}


def test_by_sms_the_receipts_number_withdraws_it(house: House) -> None:
    """Kari's receipt by SMS offers Withdraw as 1; she answers 1 and is told in Norwegian;
    Anna, who was to decide, hears of it."""
    kari = house.sms(KARI)
    receipt = kari.say(FUNERAL)
    ref = reference(receipt)
    assert receipt.endswith(" Skolen svarer deg her.\nSvar 1 for Trekk tilbake søknaden.")
    anna = house.sms(MENTOR_PHONE)
    assert ref in anna.reply().text
    assert kari.say("1") == (
        f"Søknad {ref} (permisjon for Noor) er trukket tilbake. Skolen har fått beskjed.")
    assert anna.reply().text.startswith(f"Ledighetsansökan {ref} (Noor Berg (7A)) har "
                                        "återkallats")
    assert statuses(house) == {ref: "withdrawn"}


def test_withdraw_by_command_or_in_words_and_never_once_decided(house: House) -> None:
    """Omar has two applications: /withdraw asks which; "återkalla L-…" takes one back,
    /withdraw the other, then there is none. Kari's, once Anna has granted it, can no
    longer be taken back."""
    omar = house.telegram(OMAR)
    omar.link()
    first = reference(omar.say(WEDDING).text)
    second = reference(omar.say("Kan Ali vara ledig 7 december? Vi ska till Oslo").text)
    which = omar.say("/withdraw")
    assert which.text == "Vilken ansökan vill du återkalla?"
    assert [label.split(" · ")[0] for label in which.buttons] == [first, second]
    assert omar.say(f"Återkalla {second}").text.startswith(f"Ansökan {second} (ledighet")
    assert omar.say("/withdraw").text.startswith(f"Ansökan {first} (ledighet")
    assert omar.say("/withdraw").text == (
        "Du har ingen ledighetsansökan som väntar på beslut.")
    assert statuses(house) == {first: "withdrawn", second: "withdrawn"}

    kari = house.sms(KARI)
    ref = reference(kari.say(FUNERAL))
    anna = house.sms(MENTOR_PHONE)
    while anna.unread():  # Ali's one day was hers to decide too, and withdrawn
        latest = anna.reply()
    assert ref in latest.text
    assert anna.say("1").startswith(f"Beslutat, {ref}")  # Grant
    kari.reply()  # the decision
    assert kari.say(f"trekk tilbake {ref}") == (
        f"{ref} kan ikke lenger trekkes tilbake: skolen har allerede avgjort den. Ta "
        "kontakt med skolen.")
    assert kari.say("/withdraw L-AAAAA") == (
        "Du har ingen søknad L-AAAAA som venter på avgjørelse.")
    assert statuses(house)[ref] == "decided"
