"""Connectors: a school's own systems feeding Närvaro and hearing back from it.

A connector reads the school system's roster and roll call into the same services the
roster files and the attendance API end in (`storage.roster.apply_roster`,
`storage.attendance.apply_attendance`), and writes guardians' reports back through a
queue kept in the database (`storage.connectors`). SS 12000 (Sweden) is the first; another
(OneRoster's Norwegian profile, a vendor's API) sits beside it as a package of its own.

Dependencies: bot → connectors → policy, storage. A connector never imports bot,
handlers or scheduler; the bot runs it (the scheduler's timer, `narvaro sync`).
"""
