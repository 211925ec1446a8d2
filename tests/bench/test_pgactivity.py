from __future__ import annotations

from bench.pgactivity import normalise


def test_statements_differing_only_in_values_count_as_one() -> None:
    first = normalise("UPDATE \"m\" SET \"status\" = 'Sent' WHERE \"m\".\"id\" IN ('a1', 'b2', 'c3') AND n = 12")
    second = normalise("UPDATE \"m\" SET \"status\" = 'Delivered' WHERE \"m\".\"id\" IN ('d4') AND n = 7")

    assert first == second == 'UPDATE "m" SET "status" = ? WHERE "m"."id" IN (?) AND n = ?'


def test_long_statements_are_cut() -> None:
    assert len(normalise("SELECT " + ", ".join(f"c{n}" for n in range(500)), limit=50)) == 50
