"""Counting the SQL a piece of code sends, to prove list pages stay bounded (no N+1)."""

import threading

from sqlalchemy import event

from portal.models.base import db


def statements_sent(fn) -> list[str]:
    """The SQL statements `fn` sends, SAVEPOINT bookkeeping of the test transaction left out.

    Only this thread's: a background thread (an M-Pesa booker polling) is not `fn`'s doing.
    """
    statements = []
    caller = threading.get_ident()

    def listen(conn, cursor, statement, *args):
        if threading.get_ident() == caller and "SAVEPOINT" not in statement:
            statements.append(statement)
    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    return statements


def count_queries(fn) -> int:
    """SELECTs sent by `fn` (run once first, so loading the acting user is not counted)."""
    fn()
    return sum(1 for s in statements_sent(fn) if s.lstrip().upper().startswith("SELECT"))
