"""The processes that serve this database: each holds a numbered slot while it lives, which makes the ids it
generates unique across hosts and tells the others whose in-flight work died with it."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from plait.store.base import Base, Timestamp


class Worker(Base):
    __tablename__ = "workers"

    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # the id generator's worker
    instance: Mapped[str] = mapped_column(String(32), unique=True)  # random per process start
    host: Mapped[str] = mapped_column(String(255), default="")
    pid: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[Timestamp]
    heartbeat_at: Mapped[int] = mapped_column(BigInteger, index=True)
