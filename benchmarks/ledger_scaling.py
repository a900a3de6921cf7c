"""Budget reservations per second on PostgreSQL with 1, 2, 4 and 8 worker processes.

Each process runs ``BudgetGuard.reserve_attempt`` + ``settle`` cycles against one daily
budget (``benchmarks/budget.py``); the figure is all cycles over the span from the first
start to the last end. A throwaway PostgreSQL server is started (``tests/pg_server.py``),
with a fresh database per measurement; the books are checked after each.

    python -m benchmarks.ledger_scaling [--cycles 150] [--processes 1 2 4 8] [--leases 0.05]

``--leases FRACTION`` runs the workers with budget leases (each lease a FRACTION of the day).
"""

from __future__ import annotations

import argparse
import os
import sys
from decimal import Decimal

from benchmarks import budget as bench
from benchmarks.common import ROOT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=150, help="cycles per process")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--leases", type=Decimal, default=None, help="lease fraction (opt-in)")
    ns = parser.parse_args(argv)
    from auterity_ai_step.store.ledger import LeaseTerms

    leases = None if ns.leases is None else LeaseTerms(ns.leases)
    sys.path.insert(0, str(ROOT / "tests"))
    from pg_server import PostgresServer

    server = PostgresServer()
    server.start()
    try:
        rates = {}
        for n in ns.processes:
            url = server.create_database(f"scaling_{os.getpid()}_{n}")
            rates[n] = bench.reservations_per_second(url, n, ns.cycles, f"p{n}", leases)
            bench.check_books(url, n * ns.cycles)
            mode = "leases" if leases else "day row"
            print(f"{n} process(es), {mode}: {rates[n]:7.0f} reservations/s", flush=True)
        first = rates[ns.processes[0]]
        for n, rate in rates.items():
            print(f"  {n}: {rate / first:.2f}x of {ns.processes[0]}")
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
