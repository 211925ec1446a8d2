from __future__ import annotations

from pathlib import Path

from bench.config import ROOT
from bench.profiling import summarise


def test_summary_ranks_own_time_and_project_functions(tmp_path: Path) -> None:
    collapsed = tmp_path / "web.collapsed.txt"
    view = f"post ({ROOT}/channels_app/views.py:10)"
    service = "message_send (channels_app/services/sending.py:90)"
    collapsed.write_text(
        f'process 12:"gunicorn";{view};{service};execute (psycopg/cursor.py:5) 6\n'
        f'process 12:"gunicorn";{view};dumps (json/__init__.py:1) 3\n'
        f'process 13:"gunicorn";select (selectors.py:2) 1\n'
    )

    summary = summarise(collapsed)

    assert summary["samples"] == 10
    assert summary["top_self"][0] == {"frame": "execute (psycopg/cursor.py)", "samples": 6, "percent": 60.0}
    inclusive = {row["frame"]: row["percent"] for row in summary["top_inclusive_project"]}
    assert inclusive == {"post (channels_app/views.py)": 90.0, "message_send (channels_app/services/sending.py)": 60.0}
