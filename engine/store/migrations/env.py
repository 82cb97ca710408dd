"""Alembic environment: migrations run on the connection the store hands over.

The store calls ``alembic.command.upgrade`` with its own connection in
``config.attributes["connection"]``; the command line ``alembic`` is not needed.
"""

from alembic import context
from sqlmodel import SQLModel

from engine.store import tables  # noqa: F401  (registers the tables on SQLModel.metadata)

target_metadata = SQLModel.metadata


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("slabill migrations run through the store (slabill db upgrade), not the alembic CLI")
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
