"""schemathesis over /openapi.json against a real server (Hypercorn, SQLite, the emulator).

Every operation is fuzzed anonymously and as a student, a teacher and an admin (accounts made
with `remotelab create-user`). Checks: no 5xx, the body matches the documented schema and
content type, and the status is one the API documents (a 2xx of the operation or a status of
the table in docs/reference/api.md — the `default` response would otherwise admit any).

Operations that change the identity the run is authenticated as (log out — possibly
`everywhere` — and change the password) would turn every later case of that identity into a
401: they are fuzzed in their own test, each case on a throwaway account signed up for it.
Role changes are fuzzed as the admin (the only admin: it cannot demote itself, 409), and the
student's and teacher's roles are put back after each such case.

`make test`: a few examples per operation and identity, derandomized when CI=true;
`make fuzz` (REMOTELAB_FUZZ=1): many more.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from remotelab.reference import INTRO
from tests.support.server import Server, budget, create_user, fuzz_settings, running

pytestmark = [pytest.mark.fuzz, pytest.mark.timeout(600)]

# The example old password of POST /v1/auth/change-password: a throwaway account with it lets
# the example case succeed (and its answer be checked) rather than always be a 401.
PASSWORD = "old secret"
ROLES = ("student", "teacher", "admin")
IDENTITY_CHANGING = ["/v1/auth/logout", "/v1/auth/change-password"]
TABLE_STATUSES = {int(code) for code in re.findall(r"^\| (\d{3}) \|", INTRO, re.MULTILINE)}

EXAMPLES = budget(ci=5, fuzz=150)
FUZZ_SETTINGS = fuzz_settings(EXAMPLES)

# Bounded so that a case never waits long: a run of a fuzzed script, a capture or a wait.
SERVER_SETTINGS = {
    "sandbox_wall_seconds": "2",
    "sandbox_cpu_seconds": "2",
    "function_max_wait_seconds": "1",
    "function_max_capture_seconds": "1",
    "device_call_timeout": "5",
}


@dataclass
class Lab:
    server: Server
    headers: dict[str, dict[str, str]]
    ids: dict[str, int]
    throwaways: Iterator[int]

    def throwaway(self) -> dict[str, str]:
        return self.server.signup(f"throwaway{next(self.throwaways)}@example.org", PASSWORD)

    def restore_roles(self) -> None:
        for role in ("student", "teacher"):
            r = httpx.put(
                f"{self.server.url}/v1/admin/users/{self.ids[role]}/role",
                json={"role": role},
                headers=self.headers["admin"],
                timeout=30,
            )
            r.raise_for_status()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    instance = tmp_path_factory.mktemp("openapi-fuzz") / "instance"
    for role in ROLES:
        create_user(instance, f"{role}@example.org", "password123", role)
    with running(instance, **SERVER_SETTINGS) as server:
        headers = {role: server.login(f"{role}@example.org", "password123") for role in ROLES}
        ids = {
            role: httpx.get(server.url + "/v1/users/me", headers=h, timeout=30).json()["id"]
            for role, h in headers.items()
        }
        # Something for the id-taking operations to find: a script of each account.
        for h in headers.values():
            r = httpx.post(
                server.url + "/v1/scripts", json={"title": "mine", "code": "print(1)"}, headers=h
            )
            r.raise_for_status()
        yield Lab(server, headers, ids, itertools.count())
        log = server.log.read_text()
    assert "Traceback" not in log, log


@pytest.fixture(scope="module")
def api(lab: Lab) -> Any:
    return schemathesis.openapi.from_url(lab.server.url + "/openapi.json")


def status_documented(ctx: Any, response: Any, case: Any) -> bool | None:
    """The status is a 2xx of the operation, or one of the API's table of error statuses."""
    documented = {int(c) for c in case.operation.definition.raw["responses"] if c.isdigit()}
    status = response.status_code
    if status not in documented | TABLE_STATUSES:
        raise AssertionError(f"status {status} is neither documented nor in the status table")
    return True


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    status_documented,
]


def fuzz(
    schema: Any, headers: Callable[[], dict[str, str] | None], after: Any = None
) -> Counter[int]:
    """Every operation of ``schema``, valid and invalid inputs; all failures reported at once.

    (schemathesis's own pytest loader, ``from_fixture``, does not run under pytest 9, so the
    operations are driven here with their Hypothesis strategies.)
    """
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        strategy = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )

        @FUZZ_SETTINGS
        @given(case=strategy)
        def run(case: Any) -> None:
            try:
                response = case.call_and_validate(headers=headers(), checks=CHECKS, timeout=30)
                statuses[response.status_code] += 1
            finally:
                if after is not None:
                    after(case)

        operations += 1
        try:
            run()
        except Exception as exc:
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert operations > 0
    assert not failures, "\n\n".join(failures)
    return statuses


@pytest.mark.parametrize("identity", ["anonymous", *ROLES])
def test_every_operation_as_each_identity(identity: str, lab: Lab, api: Any) -> None:
    def restore(case: Any) -> None:
        if identity == "admin" and case.method == "PUT":
            lab.restore_roles()

    schema = api.exclude(method="POST", path=IDENTITY_CHANGING)
    statuses = fuzz(schema, lambda: lab.headers.get(identity), restore)
    # The identity held throughout: authenticated operations kept answering, not just 401.
    assert sum(n for status, n in statuses.items() if status < 300) > 0, statuses


def test_identity_changing_operations_on_throwaway_accounts(lab: Lab, api: Any) -> None:
    statuses = fuzz(api.include(method="POST", path=IDENTITY_CHANGING), lab.throwaway)
    assert statuses[200] > 0, statuses
