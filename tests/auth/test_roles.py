"""Roles: event-server staff are admins, lab roles otherwise, students by default."""

from __future__ import annotations

import pytest

from remotelab.auth.roles import Role, can_grant_roles, can_publish, effective_role


@pytest.mark.parametrize(
    ("is_admin", "is_super_admin", "lab_role", "expected"),
    [
        (False, False, None, Role.STUDENT),
        (False, False, "student", Role.STUDENT),
        (False, False, "teacher", Role.TEACHER),
        (False, False, "admin", Role.ADMIN),
        (True, False, None, Role.ADMIN),
        (False, True, None, Role.ADMIN),
        (True, True, "teacher", Role.ADMIN),
        (False, True, "student", Role.ADMIN),
        (False, False, "Teacher", Role.STUDENT),  # unknown values give least privilege
        (False, False, "", Role.STUDENT),
        (False, False, "root", Role.STUDENT),
    ],
)
def test_effective_role(
    is_admin: bool, is_super_admin: bool, lab_role: str | None, expected: Role
) -> None:
    role = effective_role(is_admin=is_admin, is_super_admin=is_super_admin, lab_role=lab_role)
    assert role is expected


def test_role_values_are_the_stored_strings() -> None:
    assert [r.value for r in Role] == ["student", "teacher", "admin"]
    assert str(Role.TEACHER) == "teacher"


@pytest.mark.parametrize(
    ("role", "publish", "grant"),
    [(Role.STUDENT, False, False), (Role.TEACHER, True, False), (Role.ADMIN, True, True)],
)
def test_predicates(role: Role, publish: bool, grant: bool) -> None:
    assert can_publish(role) is publish
    assert can_grant_roles(role) is grant
