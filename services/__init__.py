"""Use cases shared by the chats, the sweeps and the command line (see ARCHITECTURE.md).

Each is a function taking a session, the actor or school and `now`, that queues its
messages through storage.outbox; its texts and rendering live beside it. Nothing here
imports handlers/, scheduler/, connectors/ or bot/.
"""
