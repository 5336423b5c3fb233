"""Small roster files for tests, in the contract's CSV formats."""

from __future__ import annotations

from pathlib import Path

STUDENT_HEADER = (
    "school,class,student_id,student_name,student_language,student_phone,student_adult,"
    "guardian_name,guardian_phone,guardian_language,mentor_phone"
)
STAFF = """school,name,phone,role,language
Norrskolan,Anna Mentor,070-111 22 33,mentor,sv
Norrskolan,Rut Rektor,+46701112234,principal,sv
"""


def students(*rows: str) -> str:
    """A students.csv with the contract's header."""
    return "\n".join((STUDENT_HEADER, *rows)) + "\n"


GOOD_STUDENTS = students(
    "Norrskolan,7A,N001,Ali Hassan,sv,,no,Mona Hassan,070-123 45 67,ar,070-111 22 33",
    "Norrskolan,7A,N001,Ali Hassan,sv,,no,Karim Hassan,0701234568,en,070-111 22 33",
    "Norrskolan,7A,N002,Sara Nilsen,nb,,nei,Per Nilsen,+47 412 34 567,nb,070-111 22 33",
    "Norrskolan,8B,N003,Emil Jensen,da,0701234570,ja,,,,",
)


def write(folder: Path, name: str, text: str, *, encoding: str = "utf-8") -> str:
    """Write `text` to folder/name and return the path as a string."""
    path = folder / name
    path.write_text(text, encoding=encoding)
    return str(path)
