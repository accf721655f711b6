"""The tests' demo snapshot (zerowaste.testing.demo_snapshot, ADR 0058): a restore after the sequences
were reset (as the README's figures do) leaves every sequence past the restored rows."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.core.management.color import no_style
from django.db import connection, transaction

from zerowaste.core.models import Zone
from zerowaste.testing import demo_snapshot

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_a_restore_after_a_sequence_reset_hands_out_new_ids() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the snapshot is PostgreSQL's; SQLite builds every time")
    with transaction.atomic():
        demo_snapshot.demo()
        transaction.set_rollback(True)
    snapshot = demo_snapshot.current()
    assert snapshot is not None and snapshot.sequences
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), apps.get_models()):
            cursor.execute(statement)  # every table empty again: each sequence at 1, not called
    zone = demo_snapshot.demo().zone
    assert demo_snapshot.current() is snapshot, "the second request restored the snapshot"
    assert Zone.objects.filter(pk=zone.pk).exists()
    with connection.cursor() as cursor:
        for sequence, highest in snapshot.sequences:
            cursor.execute("SELECT nextval(%s)", [f'"{sequence}"'])
            assert cursor.fetchone()[0] > highest, sequence
