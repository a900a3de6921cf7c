"""Run the loopback simulator in this process; print its base URL as JSON, serve until killed."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from auterity_ai_step.simulator.server import ModelBehaviour, Scenario, Simulator


async def main(latency_ms: float) -> None:
    sim = Simulator(Scenario(default=ModelBehaviour(latency_ms=latency_ms), seed=0))
    await sim.start()
    print(json.dumps({"base_url": sim.base_url}), flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await sim.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    ns = parser.parse_args()
    try:
        asyncio.run(main(ns.latency_ms))
    except KeyboardInterrupt:
        sys.exit(0)
