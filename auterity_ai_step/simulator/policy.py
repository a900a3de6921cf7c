"""The simulated policy: a policy with every model pointed at the simulator.

The demo, ``run --simulator``, ``health --simulator`` and the console's try-it route all
run a real policy against the loopback simulator; this is the one place that rewrites it.
"""

from __future__ import annotations

from ..contract.policy import ModelSpec, Policy

__all__ = ["simulated_policy"]


def simulated_policy(policy: Policy, base_url: str) -> Policy:
    """The same policy with every model's ``api_base`` pointed at the simulator."""
    models = {
        name: spec.model_copy(update={"api_base": _sim_base(spec, base_url)})
        for name, spec in policy.models.items()
    }
    return policy.model_copy(update={"models": models, "source": f"{policy.source} (simulated)"})


def _sim_base(spec: ModelSpec, base_url: str) -> str:
    """The simulator's URL in the form the provider's client expects."""
    suffix = {"openai": "/v1", "cohere": "/v2/chat"}.get(spec.provider, "")
    return base_url + suffix
