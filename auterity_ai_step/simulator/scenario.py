"""Scripted provider behaviour for the loopback simulator (the file format: ``simulate --help``).

Kept apart from the server so the scenario format can be loaded and validated (by the CLI,
by tests) without starting anything.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "OUTCOME_KINDS",
    "ModelBehaviour",
    "Outcome",
    "Scenario",
    "approx_tokens",
    "load_scenario",
]

#: Outcome kinds besides an HTTP status code.
OUTCOME_KINDS = ("ok", "timeout", "drop", "malformed", "no_choices", "empty_length")

_CONTEXT_MESSAGE = (
    "This model's maximum context length is 4096 tokens. However, your messages resulted "
    "in more tokens. Please reduce the length of the messages."
)
_OUTCOME_RE = re.compile(r"^(?P<head>[a-z_]+|\d{3})(?:\s+retry-after=(?P<ra>\S+))?$")


@dataclass(frozen=True)
class Outcome:
    """What the simulator does with one request: ``kind`` is ``status`` or an OUTCOME_KINDS."""

    kind: str = "ok"
    status: int = 200
    retry_after: str | None = None
    message: str | None = None
    #: A status outcome's exact error body (a mapping is sent as JSON, a string as is),
    #: for replaying a provider's own words; None sends the protocol's usual error shape.
    body: Any = None

    @classmethod
    def parse(cls, value: str | int | Mapping[str, Any] | Outcome) -> Outcome:
        """Read ``"ok"``, ``500``, ``"429 retry-after=2"``, ``"context_overflow"`` or a mapping."""
        if isinstance(value, Outcome):
            return value
        if isinstance(value, Mapping):
            if "status" in value:
                ra = value.get("retry_after")
                return cls(
                    "status",
                    int(value["status"]),
                    None if ra is None else str(ra),
                    value.get("message"),
                    value.get("body"),
                )
            return cls.parse(str(value.get("kind", "ok")))
        text = str(value).strip().lower()
        if text == "context_overflow":
            return cls("status", 400, None, _CONTEXT_MESSAGE)
        match = _OUTCOME_RE.match(text)
        if match is None:
            raise ValueError(f"unknown simulator outcome {value!r}")
        head, retry_after = match["head"], match["ra"]
        if head.isdigit():
            return cls("status", int(head), retry_after)
        if head not in OUTCOME_KINDS or retry_after is not None:
            raise ValueError(f"unknown simulator outcome {value!r}; use one of {OUTCOME_KINDS}")
        return cls(head)

    @property
    def label(self) -> str:
        return str(self.status) if self.kind == "status" else self.kind


def approx_tokens(text: str) -> int:
    """Deterministic token estimate (about four characters a token), at least one."""
    return max(1, math.ceil(len(text) / 4))


@dataclass
class ModelBehaviour:
    """How one simulated model answers.

    ``outcomes`` are played in order and then cycled (``cycle=False`` repeats the last one);
    ``chaos`` (outcome -> weight) replaces them with seeded random draws.
    """

    latency_ms: float = 0.0
    outcomes: Sequence[str | int | Mapping[str, Any] | Outcome] = ("ok",)
    cycle: bool = True
    answer: str | Callable[[str], str] = "Simulated answer."
    usage: bool = True
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    chaos: Mapping[str, float] | None = None
    hang_s: float = 30.0
    _parsed: tuple[Outcome, ...] = field(init=False, repr=False)
    _chaos: tuple[tuple[Outcome, ...], tuple[float, ...]] | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._parsed = tuple(Outcome.parse(o) for o in self.outcomes) or (Outcome(),)
        self._chaos = None
        if self.chaos:
            picks = tuple(Outcome.parse(k) for k in self.chaos)
            self._chaos = (picks, tuple(float(w) for w in self.chaos.values()))

    def outcome_stream(self, rng: random.Random) -> Iterator[Outcome]:
        """The outcomes this model will give, one per request."""
        if self._chaos is not None:
            picks, weights = self._chaos
            while True:
                yield rng.choices(picks, weights)[0]
        if self.cycle:
            yield from itertools.cycle(self._parsed)
        yield from self._parsed
        while True:
            yield self._parsed[-1]

    def answer_for(self, prompt: str) -> str:
        return self.answer(prompt) if callable(self.answer) else self.answer

    def token_counts(self, prompt: str, answer: str) -> tuple[int, int]:
        prompt_tokens = (
            self.prompt_tokens if self.prompt_tokens is not None else approx_tokens(prompt)
        )
        completion = (
            self.completion_tokens if self.completion_tokens is not None else approx_tokens(answer)
        )
        return prompt_tokens, completion

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> ModelBehaviour:
        known = {
            "latency_ms",
            "outcomes",
            "cycle",
            "answer",
            "usage",
            "prompt_tokens",
            "completion_tokens",
            "chaos",
            "hang_s",
        }
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown model behaviour keys {sorted(unknown)}")
        values = dict(data)
        if "outcomes" in values:
            outs = values["outcomes"]
            values["outcomes"] = tuple(outs) if isinstance(outs, list | tuple) else (outs,)
        return cls(**values)


@dataclass
class Scenario:
    """Per-model behaviour; ``default`` answers unknown models (None: they get a 404)."""

    models: dict[str, ModelBehaviour] = field(default_factory=dict)
    default: ModelBehaviour | None = field(default_factory=ModelBehaviour)
    seed: int | None = None

    def behaviour(self, model: str) -> ModelBehaviour | None:
        return self.models.get(model, self.default)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Scenario:
        unknown = set(data) - {"models", "default", "seed"}
        if unknown:
            raise ValueError(f"unknown scenario keys {sorted(unknown)}")
        models = {
            str(name): ModelBehaviour.from_data(spec or {})
            for name, spec in (data.get("models") or {}).items()
        }
        default: ModelBehaviour | None = ModelBehaviour()
        if "default" in data:
            raw = data["default"]
            default = None if raw is None else ModelBehaviour.from_data(raw)
        seed = data.get("seed")
        return cls(models=models, default=default, seed=None if seed is None else int(seed))


def load_scenario(path: str | Path) -> Scenario:
    """Load a scenario from a YAML or JSON file (a ``ValueError`` says what is wrong)."""
    text = Path(path).read_text(encoding="utf-8")
    data = json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)
    if not isinstance(data, Mapping):
        raise ValueError(f"{path}: a scenario is a mapping with a 'models' key")
    return Scenario.from_data(data)
