"""The guard against a false alarm: a burst of same-day notices that would tell more than a
set share of a class or of the school waits for a coordinator's (or principal's) word.

Pure rules (no I/O): the sweep says who would be told, the guard says which groups to ask
about and, given staff's answers, whose notices are held and whose are cancelled.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from policy.notices import NoticeRules, too_many


class Verdict(StrEnum):
    """Staff's word on a held burst."""

    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Scope:
    """A group the guard looks at: the school, or one class."""

    #: `school:ID` or `class:ID` (its question is asked once per scope and day).
    key: str
    #: The students who would be told now.
    students: tuple[int, ...]
    #: How many students the group has, and how many were told already today.
    size: int
    told: int

    @property
    def would(self) -> int:
        """How many of the group would have been told today, with these."""
        return len(self.students) + self.told


@dataclass
class Guarded:
    """The guard's answer: the students whose notices wait, and those (among them) that are
    cancelled (the absence is unexcused, nobody is told)."""

    held: set[int] = field(default_factory=set)
    cancelled: set[int] = field(default_factory=set)


def verdict(answers: Iterable[str]) -> Verdict | None:
    """Staff's word from their answers: one "Do not send" cancels, one "Send" confirms."""
    given = set(answers)
    if Verdict.CANCELLED in given:
        return Verdict.CANCELLED
    if Verdict.CONFIRMED in given:
        return Verdict.CONFIRMED
    return None


def scopes(school_id: int, fresh: dict[int, int], sizes: dict[int, int],
           notified: dict[int, int]) -> list[Scope]:
    """The school first (one question covers the whole roll call), then each class with
    someone to tell. `fresh` and `notified`: student → class, of those to tell now and of
    those told already today; `sizes`: class → students."""
    by_class: dict[int, list[int]] = defaultdict(list)
    for student, klass in fresh.items():
        by_class[klass].append(student)
    told: dict[int, int] = defaultdict(int)
    for klass in notified.values():
        told[klass] += 1
    return [Scope(f"school:{school_id}", tuple(fresh), sum(sizes.values()), len(notified))] + [
        Scope(f"class:{klass}", tuple(students), sizes.get(klass, 0), told[klass])
        for klass, students in by_class.items()]


def guard(found: list[Scope], rules: NoticeRules,
          ask: Callable[[Scope], Verdict | None]) -> Guarded:
    """Walk the scopes (the school first): one too big is asked about (`ask` gives staff's
    word, or None while they have not answered). A confirmed school lets every class go; a
    school waiting or cancelled decides for all; a class waits or is cancelled alone."""
    result = Guarded()
    for scope in found:
        if not too_many(scope.would, scope.size, rules):
            continue
        word = ask(scope)
        is_school = scope.key.startswith("school:")
        if word is Verdict.CONFIRMED:
            if is_school:
                break
            continue
        result.held.update(scope.students)
        if word is Verdict.CANCELLED:
            result.cancelled.update(scope.students)
        if is_school:
            break
    return result
