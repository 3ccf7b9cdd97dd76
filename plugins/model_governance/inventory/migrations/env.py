"""Alembic environment of the governance inventory; run through ``model_governance.inventory.db.migrate``."""

from __future__ import annotations

from alembic import context

from model_governance.inventory.db import include_name
from model_governance.inventory.models import Base

config = context.config
engine = config.attributes["engine"]
version_table = config.get_main_option("version_table") or "mg_alembic_version"

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        version_table=version_table,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()
