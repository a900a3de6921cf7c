"""Queries off the reservation path: usage totals and model configurations."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Date, case, cast, delete, func, insert, select, update
from sqlalchemy.sql.elements import ColumnElement

from .tables import budget_days as _DAYS
from .tables import budget_leases as _LEASES
from .tables import model_configurations as _CONFIGS
from .tables import model_usage as _USAGE
from .tables import utcnow

__all__ = [
    "budget_spent_between",
    "model_configurations",
    "model_performance",
    "put_model_configurations",
    "top_costs",
    "totals",
    "usage_series",
]


def _utc_day(backend: str) -> ColumnElement[Any]:
    """The UTC calendar day of ``created_at`` (SQLite stores UTC text already)."""
    if backend == "postgresql":
        return cast(func.timezone("UTC", _USAGE.c.created_at), Date)
    return func.date(_USAGE.c.created_at)


def totals(conn: Connection, backend: str, days: int, model: str | None) -> dict[str, Any]:
    """Calls, tokens, errors and cost by model and by UTC day since ``days`` days ago.

    ``calls`` counts provider calls: the usage rows of replayed steps are not calls."""
    today = utcnow().date()
    since = datetime.combine(today - timedelta(days=days - 1), time(), tzinfo=UTC)
    where = [_USAGE.c.created_at >= since]
    if model is not None:
        where.append(_USAGE.c.model_name == model)
    # A replayed step (status "replayed", see replays.py) is a row but no provider call.
    measures = (
        func.sum(case((_USAGE.c.status == "replayed", 0), else_=1)).label("calls"),
        func.sum(case((_USAGE.c.status == "error", 1), else_=0)).label("errors"),
        func.sum(_USAGE.c.prompt_tokens).label("prompt_tokens"),
        func.sum(_USAGE.c.completion_tokens).label("completion_tokens"),
        func.sum(_USAGE.c.total_tokens).label("total_tokens"),
        func.sum(_USAGE.c.cost).label("cost"),
    )
    by_model = [
        _clean(row._mapping)
        for row in conn.execute(
            select(_USAGE.c.model_name, _USAGE.c.provider, *measures)
            .where(*where)
            .group_by(_USAGE.c.model_name, _USAGE.c.provider)
            .order_by(_USAGE.c.model_name, _USAGE.c.provider)
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


def _since(days: int) -> datetime:
    """Midnight UTC ``days - 1`` days ago: the first moment of a ``days``-day window."""
    return datetime.combine(utcnow().date() - timedelta(days=days - 1), time(), tzinfo=UTC)


def usage_series(conn: Connection, backend: str, days: int, group_by: str) -> list[dict[str, Any]]:
    """Calls, errors, tokens and cost per UTC day and per model (or provider), day order."""
    group = _USAGE.c.provider if group_by == "provider" else _USAGE.c.model_name
    day = _utc_day(backend).label("day")
    rows = conn.execute(
        select(
            day,
            group.label("group"),
            func.count().label("calls"),
            func.sum(case((_USAGE.c.status == "error", 1), else_=0)).label("errors"),
            func.sum(_USAGE.c.total_tokens).label("total_tokens"),
            func.sum(_USAGE.c.cost).label("cost"),
        )
        .where(_USAGE.c.created_at >= _since(days))
        .group_by(day, group)
        .order_by(day, group)
    )
    return [
        {
            "day": str(row.day),
            "group": row.group,
            "calls": int(row.calls),
            "errors": int(row.errors or 0),
            "total_tokens": int(row.total_tokens or 0),
            "cost": row.cost if row.cost is not None else Decimal(0),
        }
        for row in rows
    ]


def _percentile(ordered: list[int], share: float) -> int:
    """The nearest-rank percentile of an ascending list (``share`` from 0 to 1)."""
    rank = max(1, -(-len(ordered) * share // 1))  # ceil without floats drifting below 1
    return ordered[int(rank) - 1]


def model_performance(conn: Connection, days: int) -> list[dict[str, Any]]:
    """Per model: calls, errors, fallbacks and nearest-rank p50/p95 latency of its attempts.

    Latencies are read and ranked here because SQLite has no percentile function; a
    window holds one small row per attempt, so this stays cheap for a dashboard's range.
    """
    rows = conn.execute(
        select(_USAGE.c.model_name, _USAGE.c.latency_ms, _USAGE.c.status, _USAGE.c.is_fallback)
        .where(_USAGE.c.created_at >= _since(days))
        .order_by(_USAGE.c.model_name, _USAGE.c.latency_ms)
    )
    seen: dict[str, dict[str, Any]] = {}
    for name, latency, status, fallback in rows:
        entry = seen.setdefault(name, {"latencies": [], "errors": 0, "fallbacks": 0})
        entry["latencies"].append(int(latency or 0))
        entry["errors"] += status == "error"
        entry["fallbacks"] += bool(fallback)
    return [
        {
            "model": name,
            "calls": len(entry["latencies"]),
            "errors": entry["errors"],
            "fallbacks": entry["fallbacks"],
            "p50_latency_ms": _percentile(entry["latencies"], 0.5),
            "p95_latency_ms": _percentile(entry["latencies"], 0.95),
        }
        for name, entry in seen.items()
    ]


def top_costs(conn: Connection, days: int, by: str, limit: int) -> list[dict[str, Any]]:
    """The ``limit`` executions (``by="execution"``) or workflow nodes costing most."""
    key = _USAGE.c.execution_id if by == "execution" else _USAGE.c.node_id
    cost = func.sum(_USAGE.c.cost)
    rows = conn.execute(
        select(key.label("key"), func.count().label("attempts"), cost.label("cost"))
        .where(_USAGE.c.created_at >= _since(days), key.is_not(None))
        .group_by(key)
        .order_by(cost.desc(), key)
        .limit(limit)
    )
    return [
        {"key": row.key, "attempts": int(row.attempts), "cost": row.cost or Decimal(0)}
        for row in rows
    ]


def budget_spent_between(conn: Connection, first: date, last: date, scope: str) -> Decimal:
    """What the budget days from ``first`` to ``last`` (inclusive) booked as spent.

    Includes what open budget leases spent (booked on their day when they return)."""
    total = conn.execute(
        select(func.sum(_DAYS.c.spent)).where(
            _DAYS.c.day >= first, _DAYS.c.day <= last, _DAYS.c.scope == scope
        )
    ).scalar()
    leased = conn.execute(
        select(func.sum(_LEASES.c.spent)).where(
            _LEASES.c.day >= first,
            _LEASES.c.day <= last,
            _LEASES.c.scope == scope,
            _LEASES.c.returned_at.is_(None),
        )
    ).scalar()
    return (total or Decimal(0)) + (leased or Decimal(0))


def _clean(row: Any) -> dict[str, Any]:
    data = dict(row)
    for key in ("calls", "errors", "prompt_tokens", "completion_tokens", "total_tokens"):
        data[key] = int(data[key] or 0)
    data["cost"] = data["cost"] if data["cost"] is not None else Decimal(0)
    return data


def model_configurations(conn: Connection) -> tuple[str, dict[str, dict[str, Any]]]:
    """(version token, {name: config}) of the active rows; the token is a content hash."""
    rows = conn.execute(
        select(_CONFIGS.c.name, _CONFIGS.c.provider, _CONFIGS.c.config)
        .where(_CONFIGS.c.is_active.is_(True))
        .order_by(_CONFIGS.c.name)
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
    existing = set(conn.execute(select(_CONFIGS.c.name)).scalars())
    conn.execute(delete(_CONFIGS).where(_CONFIGS.c.name.not_in(list(configs))))
    for name, config in configs.items():
        values = {
            "provider": str(config.get("provider", "")),
            "config": json.loads(json.dumps(dict(config), default=str)),
            "is_active": True,
        }
        if name in existing:
            conn.execute(
                update(_CONFIGS).where(_CONFIGS.c.name == name).values(updated_at=now, **values)
            )
        else:
            conn.execute(insert(_CONFIGS).values(name=name, created_at=now, **values))
