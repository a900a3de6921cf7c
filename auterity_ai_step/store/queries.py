"""Queries off the reservation path: usage totals and model configurations."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Date, case, cast, delete, func, insert, select, update
from sqlalchemy.sql.elements import ColumnElement

from .tables import ModelConfiguration, ModelUsage, utcnow

__all__ = ["model_configurations", "put_model_configurations", "totals"]


def _utc_day(backend: str) -> ColumnElement[Any]:
    """The UTC calendar day of ``created_at`` (SQLite stores UTC text already)."""
    if backend == "postgresql":
        return cast(func.timezone("UTC", ModelUsage.created_at), Date)
    return func.date(ModelUsage.created_at)


def totals(conn: Connection, backend: str, days: int, model: str | None) -> dict[str, Any]:
    """Calls, tokens, errors and cost by model and by UTC day since ``days`` days ago.

    ``calls`` counts provider calls: the usage rows of replayed steps are not calls."""
    today = utcnow().date()
    since = datetime.combine(today - timedelta(days=days - 1), time(), tzinfo=UTC)
    where = [ModelUsage.created_at >= since]
    if model is not None:
        where.append(ModelUsage.model_name == model)
    # A replayed step (status "replayed", see replays.py) is a row but no provider call.
    measures = (
        func.sum(case((ModelUsage.status == "replayed", 0), else_=1)).label("calls"),
        func.sum(case((ModelUsage.status == "error", 1), else_=0)).label("errors"),
        func.sum(ModelUsage.prompt_tokens).label("prompt_tokens"),
        func.sum(ModelUsage.completion_tokens).label("completion_tokens"),
        func.sum(ModelUsage.total_tokens).label("total_tokens"),
        func.sum(ModelUsage.cost).label("cost"),
    )
    by_model = [
        _clean(row._mapping)
        for row in conn.execute(
            select(ModelUsage.model_name, ModelUsage.provider, *measures)
            .where(*where)
            .group_by(ModelUsage.model_name, ModelUsage.provider)
            .order_by(ModelUsage.model_name, ModelUsage.provider)
        )
    ]
    day = _utc_day(backend).label("day")
    by_day = [
        _clean(row._mapping)
        for row in conn.execute(select(day, *measures).where(*where).group_by(day).order_by(day))
    ]
    for row in by_day:
        row["day"] = str(row["day"])
    return {
        "days": days,
        "since": since.isoformat(),
        "model": model,
        "calls": sum(r["calls"] for r in by_model),
        "errors": sum(r["errors"] for r in by_model),
        "total_tokens": sum(r["total_tokens"] for r in by_model),
        "total_cost": sum((r["cost"] for r in by_model), Decimal(0)),
        "by_model": by_model,
        "by_day": by_day,
    }


def _clean(row: Any) -> dict[str, Any]:
    data = dict(row)
    for key in ("calls", "errors", "prompt_tokens", "completion_tokens", "total_tokens"):
        data[key] = int(data[key] or 0)
    data["cost"] = data["cost"] if data["cost"] is not None else Decimal(0)
    return data


def model_configurations(conn: Connection) -> tuple[str, dict[str, dict[str, Any]]]:
    """(version token, {name: config}) of the active rows; the token is a content hash."""
    rows = conn.execute(
        select(ModelConfiguration.name, ModelConfiguration.provider, ModelConfiguration.config)
        .where(ModelConfiguration.is_active.is_(True))
        .order_by(ModelConfiguration.name)
    ).all()
    configs = {
        name: {**({"provider": provider} if provider else {}), **dict(config)}
        for name, provider, config in rows
    }
    blob = json.dumps(configs, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16], configs


def put_model_configurations(conn: Connection, configs: Mapping[str, Mapping[str, Any]]) -> None:
    """Make the table hold exactly ``configs`` (keeping created_at of names that stay)."""
    now = utcnow()
    existing = set(conn.execute(select(ModelConfiguration.name)).scalars())
    conn.execute(delete(ModelConfiguration).where(ModelConfiguration.name.not_in(list(configs))))
    for name, config in configs.items():
        values = {
            "provider": str(config.get("provider", "")),
            "config": json.loads(json.dumps(dict(config), default=str)),
            "is_active": True,
        }
        if name in existing:
            conn.execute(
                update(ModelConfiguration)
                .where(ModelConfiguration.name == name)
                .values(updated_at=now, **values)
            )
        else:
            conn.execute(insert(ModelConfiguration).values(name=name, created_at=now, **values))
