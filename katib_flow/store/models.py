"""SQLAlchemy 2 models of the experiment store.

``observation_logs`` keeps Katib's columns (trial_name, time with microseconds,
metric_name, value as text) so Katib's tooling habits carry over; katib-flow adds
the experiment id and, for idempotent collection, the source and sequence of
each observation within its trial.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["Base", "ExperimentRow", "ObservationRow", "SchemaInfo", "TrialRow"]

# MySQL's DATETIME drops microseconds unless asked for them; Katib's observation times have them.
Timestamp = DateTime(timezone=False).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
# A JSON document; MySQL/MariaDB use their JSON type (LONGTEXT on MariaDB), SQLite stores text.
Document = JSON().with_variant(mysql.JSON(), "mysql", "mariadb")


class Base(DeclarativeBase):
    pass


class SchemaInfo(Base):
    __tablename__ = "katib_flow_schema"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)


class ExperimentRow(Base):
    __tablename__ = "experiments"
    __table_args__ = (UniqueConstraint("namespace", "name", name="uq_experiment_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(63))
    namespace: Mapped[str] = mapped_column(String(63), default="")
    spec: Mapped[dict[str, Any]] = mapped_column(Document)
    seed: Mapped[int] = mapped_column(BigInteger)
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(Document, default=list)
    completed: Mapped[bool] = mapped_column(default=False)
    algorithm_state: Mapped[dict[str, Any]] = mapped_column(Document, default=dict)
    owner: Mapped[str | None] = mapped_column(String(255), nullable=True, default=None)
    owner_heartbeat: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True, default=None)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)
    completion_time: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True, default=None)
    # The folder the local runner last put trial folders under (schema version 2): read commands
    # point at the logs, delete removes them, and a trial folder is known to belong to this experiment.
    workdir: Mapped[str | None] = mapped_column(String(1024), nullable=True, default=None)


class TrialRow(Base):
    __tablename__ = "trials"
    __table_args__ = (
        UniqueConstraint("experiment_id", "name", name="uq_trial_name"),
        UniqueConstraint("experiment_id", "lane", "iteration", name="uq_trial_slot"),
        Index("ix_trials_experiment_state", "experiment_id", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    seq: Mapped[int] = mapped_column(Integer)
    lane: Mapped[int] = mapped_column(Integer)
    iteration: Mapped[int] = mapped_column(Integer)
    assignments: Mapped[list[dict[str, str]]] = mapped_column(Document)
    data: Mapped[dict[str, Any]] = mapped_column(Document, default=dict)
    state: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(64), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    run_object: Mapped[dict[str, Any] | None] = mapped_column(Document, nullable=True, default=None)
    # Katib attaches the early-stopping rules of the moment to each trial when it is created.
    stop_rules: Mapped[list[dict[str, Any]]] = mapped_column(Document, default=list)
    objective: Mapped[float | None] = mapped_column(Float, nullable=True, default=None)
    metrics: Mapped[list[dict[str, str]] | None] = mapped_column(Document, nullable=True, default=None)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    start_time: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True, default=None)
    completion_time: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True, default=None)


class ObservationRow(Base):
    __tablename__ = "observation_logs"
    __table_args__ = (
        UniqueConstraint("experiment_id", "trial_name", "source", "seq", name="uq_observation_seq"),
        Index("ix_observation_trial_metric", "experiment_id", "trial_name", "metric_name"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    trial_name: Mapped[str] = mapped_column(String(128))
    time: Mapped[datetime] = mapped_column(Timestamp)
    metric_name: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(String(255))
    step: Mapped[int | None] = mapped_column(Integer, nullable=True, default=None)
    source: Mapped[str] = mapped_column(String(16), default="collector")
    seq: Mapped[int] = mapped_column(Integer)
