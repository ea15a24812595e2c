"""Only one active scheduler per database.

On PostgreSQL the leader holds a session-level advisory lock on a connection of its own; on
SQLite (one machine) an exclusive lock on a file beside the database. Either is released by the
operating system or the server the moment the holder dies, so another scheduler takes over at its
next attempt. Jobs run only while the lock is held.
"""
import fcntl
import logging
import os
import threading

import sqlalchemy as sa

log = logging.getLogger(__name__)
LOCK_KEY = 0x7061726E  # "parn": the advisory lock id of partnernet's scheduler


class LeaderLock:
    def __init__(self, engine: sa.Engine, lock_path: str):
        self.engine = engine
        self.lock_path = lock_path
        self.connection = None
        self.handle = None
        self.guard = threading.Lock()

    @property
    def held(self) -> bool:
        return self.connection is not None or self.handle is not None

    def try_acquire(self) -> bool:
        """Become the leader if nobody is; check that a held lock is still ours. True if leader."""
        with self.guard:
            if self.engine.dialect.name == "postgresql":
                return self._postgres()
            return self._file()

    def _postgres(self) -> bool:
        if self.connection is not None:
            try:
                self.connection.execute(sa.text("SELECT 1"))
                return True
            except sa.exc.DBAPIError:
                log.warning("lost the database connection holding the scheduler lock")
                self._drop_connection()
        connection = self.engine.connect()
        try:
            got = connection.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}).scalar()
            connection.commit()
        except sa.exc.DBAPIError:
            connection.close()
            return False
        if got:
            self.connection = connection
            log.info("this scheduler is now the active one (pid %d)", os.getpid())
            return True
        connection.close()
        return False

    def _drop_connection(self):
        try:
            self.connection.invalidate()
        except Exception:  # noqa: BLE001  (the connection is already broken)
            pass
        self.connection = None

    def _file(self) -> bool:
        if self.handle is not None:
            return True
        handle = open(self.lock_path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self.handle = handle
        log.info("this scheduler is now the active one (pid %d)", os.getpid())
        return True

    def release(self):
        with self.guard:
            if self.connection is not None:
                try:
                    self.connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
                    self.connection.close()
                except sa.exc.DBAPIError:
                    pass
                self.connection = None
            if self.handle is not None:
                fcntl.flock(self.handle, fcntl.LOCK_UN)
                self.handle.close()
                self.handle = None
