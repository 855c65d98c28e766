"""Lab roles and what they allow (pure).

``admin`` comes from the event server's ``users.is_admin`` / ``is_super_admin``
or is granted in the lab; ``teacher`` is granted in the lab (``lab_`` tables);
everyone else is a ``student``. Students see their own scripts and published
examples; teachers also publish examples and change the bench's outputs; admins also
grant roles.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    STUDENT = "student"
    TEACHER = "teacher"
    ADMIN = "admin"


def effective_role(*, is_admin: bool, is_super_admin: bool, lab_role: str | None) -> Role:
    """The role a user acts with.

    Event-server staff (``is_admin`` or ``is_super_admin``) are admins whatever
    the lab says; otherwise the lab role if it is one of :class:`Role`'s
    values. ``None`` or an unknown value (e.g. a corrupt row) gives
    ``student``: the least privilege, never an error.
    """
    if is_admin or is_super_admin:
        return Role.ADMIN
    if lab_role is None:
        return Role.STUDENT
    try:
        return Role(lab_role)
    except ValueError:
        return Role.STUDENT


def can_publish(role: Role) -> bool:
    """Whether ``role`` may publish example scripts."""
    return role in (Role.TEACHER, Role.ADMIN)


def can_change_bench(role: Role) -> bool:
    """Whether ``role`` may change the bench's outputs (what every user starts from)."""
    return role in (Role.TEACHER, Role.ADMIN)


def can_hold_longer(role: Role) -> bool:
    """Whether ``role``'s scripts may hold the device up to the teachers' limit
    (``REMOTELAB_DEVICE_HOLD_MAX_SECONDS_TEACHER``) rather than the students'."""
    return role in (Role.TEACHER, Role.ADMIN)


def can_grant_roles(role: Role) -> bool:
    """Whether ``role`` may grant or remove lab roles."""
    return role is Role.ADMIN
