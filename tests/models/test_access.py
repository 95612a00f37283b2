"""The permission table as data: every cell of DESIGN.md's table, without I/O."""

from __future__ import annotations

import pytest

from models.access import Access, Target, authorize
from models.errors import AddonRequired, AppSuspended, Forbidden, SessionEnded
from models.principals import ApplicationPrincipal, AppStatus, ClientPrincipal
from models.tables import Role, Scope

STATUS = AppStatus("app_1", suspended=False, addon_enabled=True)
CLIENT = ClientPrincipal(
    STATUS,
    room_id="room_1",
    owner_ref="owner_1",
    conf_num=7,
    client_id="cl_1",
    user_ref="alice",
    name="Alice",
    role=Role.PARTICIPANT,
)
APPLICATION = ApplicationPrincipal(STATUS, "acme")

OWN = {
    Scope.APP: Target("app_1", Scope.APP),
    Scope.ROOM: Target("app_1", Scope.ROOM, room_id="room_1"),
    Scope.OWNER: Target("app_1", Scope.OWNER, owner_ref="owner_1"),
    Scope.USER: Target("app_1", Scope.USER, user_ref="alice"),
    Scope.SESSION: Target(
        "app_1", Scope.SESSION, room_id="room_1", conf_num=7, session_live=True
    ),
}
OTHERS = {
    Scope.ROOM: Target("app_1", Scope.ROOM, room_id="room_2"),
    Scope.OWNER: Target("app_1", Scope.OWNER, owner_ref="owner_2"),
    Scope.USER: Target("app_1", Scope.USER, user_ref="bob"),
    Scope.SESSION: Target(
        "app_1", Scope.SESSION, room_id="room_2", conf_num=8, session_live=True
    ),
}

#: DESIGN.md section 1, the "clients (in-session)" column, for own targets.
CLIENT_TABLE = {
    (Scope.APP, Access.READ): True,
    (Scope.APP, Access.WRITE): False,
    (Scope.ROOM, Access.READ): True,
    (Scope.ROOM, Access.WRITE): True,
    (Scope.OWNER, Access.READ): True,
    (Scope.OWNER, Access.WRITE): False,
    (Scope.USER, Access.READ): True,
    (Scope.USER, Access.WRITE): True,
    (Scope.SESSION, Access.READ): True,
    (Scope.SESSION, Access.WRITE): True,
}


@pytest.mark.parametrize(("cell", "allowed"), CLIENT_TABLE.items())
def test_client_on_its_own_targets_follows_the_table(
    cell: tuple[Scope, Access], allowed: bool
) -> None:
    scope, access = cell
    if allowed:
        authorize(CLIENT, access, OWN[scope])
    else:
        with pytest.raises(Forbidden):
            authorize(CLIENT, access, OWN[scope])


@pytest.mark.parametrize("scope", list(OTHERS))
@pytest.mark.parametrize("access", list(Access))
def test_client_on_others_targets_is_forbidden(scope: Scope, access: Access) -> None:
    with pytest.raises(Forbidden):
        authorize(CLIENT, access, OTHERS[scope])


def test_client_may_read_an_ended_session_of_its_room_but_not_write_it() -> None:
    ended = Target("app_1", Scope.SESSION, room_id="room_1", conf_num=3)

    authorize(CLIENT, Access.READ, ended)

    with pytest.raises(SessionEnded):
        authorize(CLIENT, Access.WRITE, ended)


@pytest.mark.parametrize("scope", list(Scope))
@pytest.mark.parametrize("access", list(Access))
def test_application_may_do_everything_inside_its_own_application(
    scope: Scope, access: Access
) -> None:
    authorize(APPLICATION, access, OWN[scope])


@pytest.mark.parametrize("access", list(Access))
def test_nobody_reaches_another_application(access: Access) -> None:
    foreign = Target("app_2", Scope.APP)

    for principal in (APPLICATION, CLIENT):
        with pytest.raises(Forbidden):
            authorize(principal, access, foreign)


def test_suspension_and_the_addon_are_checked_first() -> None:
    suspended = ApplicationPrincipal(AppStatus("app_1", True, True), "acme")
    no_addon = ApplicationPrincipal(AppStatus("app_1", False, False), "acme")

    with pytest.raises(AppSuspended):
        authorize(suspended, Access.READ, OWN[Scope.APP])
    with pytest.raises(AddonRequired):
        authorize(no_addon, Access.READ, OWN[Scope.APP])
