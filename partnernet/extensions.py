"""The Flask extensions, created unbound here and bound to the app in create_app()."""
import sqlite3
from contextlib import contextmanager

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
import psycopg._queries
from psycopg.pq import TransactionStatus
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

# Named constraints so that Alembic can alter them on SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# Storage from RATELIMIT_STORAGE_URI (memory:// by default: per process; use redis:// or
# memcached:// when several web processes must share the counts).
limiter = Limiter(key_func=get_remote_address, default_limits=[])

# psycopg turns a statement's %(name)s placeholders into $n on every execution, and caches that
# work (128 statements) only for one of at most 4,096 bytes and 50 parameters: a guard against
# ORMs' multi-row INSERTs, whose text changes with their row count. Ours are built once, each
# with one text, and intake's one write on PostgreSQL has 70 parameters, so it was parsed again
# on every intake. The length limit stays, which keeps the cache small.
psycopg._queries.MAX_CACHED_STATEMENT_PARAMS = 200


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    # WAL lets readers work beside one writer; SQLite leaves foreign keys off unless asked.
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


def commit_keeping_loaded() -> None:
    """Commit without expiring what the session holds, for a write whose caller answers with the
    rows it has just written: they are what was committed, so reading them back again is waste."""
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


@contextmanager
def without_transaction():
    """On PostgreSQL, the statements run inside are sent without a BEGIN and a COMMIT around them:
    each one commits itself (autocommit), two round trips fewer. For reads that need no snapshot
    beyond their own statement (what READ COMMITTED gives them anyway) and for a write that is one
    statement. Only while the session's transaction has sent nothing yet; otherwise, and on
    SQLite (which reads outside a transaction already), the statements join the transaction as
    usual. SQLAlchemy's own psycopg ping does the same."""
    connection = db.session.connection()
    dbapi_connection = connection.connection.dbapi_connection
    if connection.dialect.name != "postgresql" or dbapi_connection.autocommit \
            or dbapi_connection.info.transaction_status != TransactionStatus.IDLE:
        yield connection
        return
    dbapi_connection.autocommit = True
    try:
        yield connection
    finally:
        if dbapi_connection.closed or dbapi_connection.info.transaction_status != TransactionStatus.IDLE:
            # Cut off (a server restart): never back to the pool in autocommit.
            if not connection.invalidated:
                connection.invalidate()
        else:
            dbapi_connection.autocommit = False
