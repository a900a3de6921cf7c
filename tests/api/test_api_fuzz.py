"""Fuzz the API from its own OpenAPI document: no generated request may cause a 500.

The app runs on a real SQLite ledger; health checks go to an address nothing listens on
(connection refused at once), so the fuzzer never waits on a provider.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import schemathesis
import yaml
from api_support import ADMIN_TOKEN, policy_document
from hypothesis import HealthCheck, settings
from schemathesis import checks

from auterity_ai_step.api.router import create_app
from auterity_ai_step.core.policy_source import PolicyStore
from auterity_ai_step.store.ledger import Ledger

_WORKDIR = Path(tempfile.mkdtemp(prefix="auterity-api-fuzz-"))
_POLICY = _WORKDIR / "policy.yml"
_POLICY.write_text(
    yaml.safe_dump(policy_document("http://127.0.0.1:9"), sort_keys=False), encoding="utf-8"
)
_LEDGER = Ledger(f"sqlite:///{_WORKDIR / 'ledger.db'}")
_APP = create_app(
    api_token=ADMIN_TOKEN,
    policy_store=PolicyStore(_POLICY, overrides=_LEDGER.model_configurations),
    ledger=_LEDGER,
)
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

# What the API promises: no 5xx, only documented status codes and content types, and
# bodies that match the documented schemas. (Negative-data checks are left out: the auth
# header is added to every case here, and extra query parameters are ignored by design.)
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]

# The status stream never ends by design (server-sent events until the client leaves), and
# the fuzzer's ASGI client reads whole bodies: test_api_console.py tests it on a real server.
schema = schemathesis.openapi.from_asgi("/openapi.json", _APP).exclude(
    path="/api/models/status/stream"
)


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_server_errors(case: schemathesis.Case) -> None:
    response = case.call(headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert response.status_code < 500, (case.method, case.path, response.text[:500])
    case.validate_response(response, checks=CHECKS)
