from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, connections
from django.utils import translation
from hypothesis import settings as hypothesis_settings

from bangfu.org.models import OrgUnit, Role
from bangfu.testing.factories import org_tree, user_with_role

# No time limit per example: Hypothesis's default deadline (200 ms) is a timing assertion, and a
# busy machine (or a first call that loads a table) fails it without anything being wrong.
hypothesis_settings.register_profile("bangfu", deadline=None)
hypothesis_settings.load_profile("bangfu")


@pytest.fixture(autouse=True)
def _settings_language() -> Iterator[None]:
    """Each test starts in the settings' language (English here): a request or a command that
    switched the thread's language must not decide what a later test on the same worker reads."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _nothing_told_pending() -> None:
    """What a refusal told in an earlier test (``common.audit.audit_told``), rolled back with that
    test's transaction and never flushed, is not written in this one (its users are gone)."""
    from bangfu.common import audit

    audit._TOLD.pending = []


@pytest.fixture
def tree(db: Any) -> dict[str, OrgUnit]:
    return org_tree()


@pytest.fixture
def users(tree: dict[str, OrgUnit]) -> dict[str, Any]:
    """One user per role at the level where that role works."""
    return {
        "province_manager": user_with_role(tree["province"], Role.MANAGER, "province_manager"),
        "xiangyun_staff": user_with_role(tree["xiangyun"], Role.CENTRE_STAFF, "xiangyun_staff"),
        "dalishi_staff": user_with_role(tree["dalishi"], Role.CENTRE_STAFF, "dalishi_staff"),
        "xiangyun_cadre": user_with_role(tree["xiangyun_g"], Role.GRASSROOTS_CADRE, "xiangyun_cadre"),
        "evaluator": user_with_role(tree["province"], Role.EVALUATOR, "evaluator"),
        "admin": user_with_role(tree["province"], Role.ADMIN, "admin"),
    }


@pytest.fixture
def shared_database() -> None:
    """Tests whose threads each open a connection: they need one database all of them reach
    (PostgreSQL, as CI runs them, or an on-disk SQLite file), not SQLite's in-memory one."""
    if connection.vendor == "sqlite" and "memory" in str(connection.settings_dict["NAME"]):
        pytest.skip("threads need a shared on-disk SQLite database")


@pytest.fixture
def audit_log_emptied(transactional_db: Any) -> Iterator[None]:
    """The audit table refuses DELETE by trigger, so the flush that ends a transactional test
    fails on SQLite (PostgreSQL flushes by TRUNCATE, which row triggers do not see). Empty it
    first with the trigger briefly dropped, then put the trigger back."""
    yield
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cur:
        cur.execute("DROP TRIGGER IF EXISTS common_auditentry_no_delete")
        cur.execute("DELETE FROM common_auditentry")
        cur.execute(
            "CREATE TRIGGER common_auditentry_no_delete BEFORE DELETE ON common_auditentry "
            "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
        )


@pytest.fixture
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (no browser download). `./dev test` installs it."""
    from playwright.sync_api import sync_playwright

    # The live server runs in a thread beside Playwright's sync loop.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    chromium = os.environ.get("BANGFU_CHROMIUM", "/usr/bin/chromium")
    if not Path(chromium).exists():
        pytest.fail(f"Chromium not found at {chromium}: install Debian's chromium or set BANGFU_CHROMIUM")
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=chromium,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield b
        b.close()
        # Connections the test opened while Playwright ran belong to its context: closed here, or
        # the test database cannot be dropped at the end ("being accessed by other users").
        connections.close_all()
