"""A loopback provider simulator, so fallback chains can be tested without real providers.

It speaks just enough of each protocol LiteLLM uses for our provider families:

====================  ==========================================  ========================
protocol              routes                                      policy ``api_base``
====================  ==========================================  ========================
OpenAI chat           ``POST /v1/chat/completions``, ``/chat/…``  ``{base}/v1``
HuggingFace (TGI)     the OpenAI routes (LiteLLM appends them)    ``{base}``
Ollama                ``POST /api/chat``, ``/api/generate``,      ``{base}``
                      ``GET /api/tags``
Anthropic messages    ``POST /v1/messages``                       ``{base}``
====================  ==========================================  ========================

Each model (the ``model`` field of the request body) follows a scripted ``ModelBehaviour``:
a latency, then a sequence of outcomes played in order and cycled (``ok``, an HTTP status
such as ``500`` or ``"429 retry-after=2"``, ``context_overflow``, ``timeout`` (hang),
``drop`` (close the connection), ``malformed`` (non-JSON body), ``no_choices``,
``empty_length``), or seeded random draws (``chaos``). Every request is logged
(``sim.requests``, ``sim.count(model)``) so tests can count attempts. The scenario file
format is :data:`auterity_ai_step.cli.sim_cmds.SCENARIO_FORMAT` (``simulate --help``).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .scenario import ModelBehaviour, Outcome, Scenario, approx_tokens, load_scenario

__all__ = [
    "ModelBehaviour",
    "Outcome",
    "RequestRecord",
    "Scenario",
    "Simulator",
    "load_scenario",
]

_STATUS_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
}


@dataclass(frozen=True)
class RequestRecord:
    """One request the simulator received."""

    model: str
    path: str
    time: float
    outcome: str
    body: Mapping[str, Any] | None = None


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, Mapping))
    return ""


def _prompt_of(body: Mapping[str, Any]) -> str:
    parts = [_text_of(body.get("system"))] if body.get("system") else []
    if "prompt" in body:
        parts.append(_text_of(body["prompt"]))
    for message in body.get("messages") or ():
        if isinstance(message, Mapping):
            parts.append(_text_of(message.get("content")))
    return "\n".join(parts)


class Simulator:
    """An aiohttp server on 127.0.0.1 playing a ``Scenario``; use ``async with`` or start/stop."""

    def __init__(
        self, scenario: Scenario | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.scenario = scenario or Scenario()
        self.host = host
        self.port = port
        self.requests: list[RequestRecord] = []
        self.counts: Counter[str] = Counter()
        self._streams: dict[str, Iterator[Outcome]] = {}
        self._runner: web.AppRunner | None = None
        self._closing: asyncio.Event | None = None
        self.base_url = ""

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> str:
        """Start serving; returns the base URL (``http://127.0.0.1:PORT``)."""
        app = web.Application()
        for path in ("/v1/chat/completions", "/chat/completions"):
            app.router.add_post(path, self._openai)
        app.router.add_post("/api/chat", self._ollama_chat)
        app.router.add_post("/api/generate", self._ollama_generate)
        app.router.add_get("/api/tags", self._ollama_tags)
        app.router.add_post("/v1/messages", self._anthropic)
        app.router.add_post("/v2/chat", self._cohere)
        self._closing = asyncio.Event()
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self.base_url = f"http://{self.host}:{self.port}"
        return self.base_url

    async def stop(self) -> None:
        """Stop serving; hanging requests are released and their connections dropped."""
        if self._closing is not None:
            self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def run_in_thread(self) -> tuple[str, Callable[[], None]]:
        """Serve from a background thread (for sync callers); returns (base_url, stop)."""
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:  # reported to the caller below
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.close()

        thread = threading.Thread(target=serve, name="auterity-simulator", daemon=True)
        thread.start()
        ready.wait()
        if failure:
            thread.join()
            raise failure[0]

        def stop() -> None:
            if thread.is_alive():
                loop.call_soon_threadsafe(loop.stop)
                thread.join(timeout=5)

        return self.base_url, stop

    # -- bookkeeping -----------------------------------------------------------------------

    def count(self, model: str | None = None) -> int:
        """Requests received for ``model`` (all models when None)."""
        return sum(self.counts.values()) if model is None else self.counts[model]

    def reset(self) -> None:
        """Forget the request log and restart every model's outcome sequence."""
        self.requests.clear()
        self.counts.clear()
        self._streams.clear()

    def _next_outcome(self, model: str, behaviour: ModelBehaviour) -> Outcome:
        stream = self._streams.get(model)
        if stream is None:
            seed = self.scenario.seed
            rng = random.Random(f"{seed}:{model}" if seed is not None else None)
            stream = self._streams[model] = behaviour.outcome_stream(rng)
        return next(stream)

    # -- the common request path -----------------------------------------------------------

    async def _serve(
        self,
        request: web.Request,
        protocol: str,
        render: Callable[[str, ModelBehaviour, Outcome, Mapping[str, Any]], Any],
    ) -> web.StreamResponse:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, Mapping):
            return self._error(protocol, 400, "request body is not a JSON object")
        model = str(body.get("model", ""))
        behaviour = self.scenario.behaviour(model)
        outcome = (
            self._next_outcome(model, behaviour)
            if behaviour is not None
            else Outcome("status", 404, None, f"model '{model}' not found")
        )
        self.requests.append(
            RequestRecord(model, request.path, time.time(), outcome.label, dict(body))
        )
        self.counts[model] += 1
        if behaviour is not None and behaviour.latency_ms > 0:
            await asyncio.sleep(behaviour.latency_ms / 1000)
        if outcome.kind == "status":
            return self._error(
                protocol, outcome.status, outcome.message, outcome.retry_after, outcome.body
            )
        if outcome.kind == "timeout":
            assert behaviour is not None and self._closing is not None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), behaviour.hang_s)
            return self._drop(request)
        if outcome.kind == "drop":
            return self._drop(request)
        if outcome.kind == "malformed":
            return web.Response(
                text="<html>upstream proxy error: this is not JSON", content_type="application/json"
            )
        assert behaviour is not None
        return web.json_response(render(model, behaviour, outcome, body))

    @staticmethod
    def _drop(request: web.Request) -> web.StreamResponse:
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=499)

    @staticmethod
    def _error(
        protocol: str,
        status: int,
        message: str | None = None,
        retry_after: str | None = None,
        body: Any = None,
    ) -> web.Response:
        headers = {"Retry-After": retry_after} if retry_after is not None else None
        if isinstance(body, str):  # a proxy's HTML page, a plain-text reason
            kind = "text/html" if body.lstrip().startswith("<") else "text/plain"
            return web.Response(text=body, status=status, headers=headers, content_type=kind)
        if body is not None:
            return web.json_response(body, status=status, headers=headers)
        text = message or f"simulated error {status}"
        kind = _STATUS_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
        payload: dict[str, Any]
        if protocol == "ollama":
            payload = {"error": text}
        elif protocol == "anthropic":
            payload = {"type": "error", "error": {"type": kind, "message": text}}
        elif protocol == "cohere":
            payload = {"message": text}
        else:
            payload = {"error": {"message": text, "type": kind, "code": str(status)}}
        return web.json_response(payload, status=status, headers=headers)

    @staticmethod
    def _answer(
        behaviour: ModelBehaviour, outcome: Outcome, body: Mapping[str, Any]
    ) -> tuple[str, str, int, int]:
        prompt = _prompt_of(body)
        empty = outcome.kind == "empty_length"
        answer = "" if empty else behaviour.answer_for(prompt)
        prompt_tokens, completion_tokens = behaviour.token_counts(prompt, answer or " ")
        return answer, ("length" if empty else "stop"), prompt_tokens, completion_tokens

    # -- protocols -------------------------------------------------------------------------

    async def _openai(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, "openai", self._render_openai)

    def _render_openai(
        self, model: str, behaviour: ModelBehaviour, outcome: Outcome, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        answer, finish, prompt_tokens, completion_tokens = self._answer(behaviour, outcome, body)
        payload: dict[str, Any] = {
            "id": f"chatcmpl-sim-{self.count()}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
        }
        if outcome.kind != "no_choices":
            payload["choices"] = [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": answer},
                    "finish_reason": finish,
                }
            ]
        if behaviour.usage:
            payload["usage"] = {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            }
        return payload

    async def _ollama_chat(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, "ollama", self._render_ollama)

    async def _ollama_generate(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, "ollama", self._render_ollama)

    def _render_ollama(
        self, model: str, behaviour: ModelBehaviour, outcome: Outcome, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        answer, finish, prompt_tokens, completion_tokens = self._answer(behaviour, outcome, body)
        payload: dict[str, Any] = {
            "model": model,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "done": True,
            "done_reason": finish,
        }
        if outcome.kind != "no_choices":
            if "messages" in body:
                payload["message"] = {"role": "assistant", "content": answer}
            else:
                payload["response"] = answer
        if behaviour.usage:
            payload["prompt_eval_count"] = prompt_tokens
            payload["eval_count"] = completion_tokens
        return payload

    async def _ollama_tags(self, request: web.Request) -> web.StreamResponse:
        names = list(self.scenario.models)
        self.requests.append(RequestRecord("", request.path, time.time(), "ok"))
        return web.json_response(
            {"models": [{"name": n, "model": n, "size": approx_tokens(n)} for n in names]}
        )

    async def _anthropic(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, "anthropic", self._render_anthropic)

    def _render_anthropic(
        self, model: str, behaviour: ModelBehaviour, outcome: Outcome, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        answer, finish, prompt_tokens, completion_tokens = self._answer(behaviour, outcome, body)
        payload: dict[str, Any] = {
            "id": f"msg_sim_{self.count()}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "stop_reason": "max_tokens" if finish == "length" else "end_turn",
            "stop_sequence": None,
        }
        if outcome.kind != "no_choices":
            payload["content"] = [{"type": "text", "text": answer}] if answer else []
        if behaviour.usage:
            payload["usage"] = {"input_tokens": prompt_tokens, "output_tokens": completion_tokens}
        return payload

    async def _cohere(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, "cohere", self._render_cohere)

    def _render_cohere(
        self, model: str, behaviour: ModelBehaviour, outcome: Outcome, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Cohere's v2 chat answer (what LiteLLM's ``cohere_chat/`` models call)."""
        answer, finish, prompt_tokens, completion_tokens = self._answer(behaviour, outcome, body)
        payload: dict[str, Any] = {
            "id": f"cohere-sim-{self.count()}",
            "finish_reason": "MAX_TOKENS" if finish == "length" else "COMPLETE",
        }
        if outcome.kind != "no_choices":
            content = [{"type": "text", "text": answer}] if answer else []
            payload["message"] = {"role": "assistant", "content": content}
        if behaviour.usage:
            tokens = {"input_tokens": prompt_tokens, "output_tokens": completion_tokens}
            payload["usage"] = {"billed_units": tokens, "tokens": tokens}
        return payload
