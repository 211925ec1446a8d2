"""The scenarios of the issue, one module each (a: single send, b: sendbulk accept, c: end to
end, d: delivery-report ingest, e: failover lag, f: end to end with a customer webhook).

Each module has ``NAME``, ``TITLE``, ``COLUMNS`` (the metrics the summary shows, with their
labels), ``cases(sizes)`` and ``run(ctx, case) -> metrics``. The runner resets the pipeline
before every run, so a module only does and measures its own work.
"""

from __future__ import annotations

from types import ModuleType

from bench.scenarios import dlr_ingest, end_to_end, failover, sendbulk, single_send, webhooks

SCENARIOS: dict[str, ModuleType] = {
    module.NAME: module for module in (single_send, sendbulk, end_to_end, dlr_ingest, failover, webhooks)
}
ALIASES = {"a": "single_send", "b": "sendbulk", "c": "end_to_end", "d": "dlr_ingest", "e": "failover", "f": "webhooks",
           "send": "single_send", "bulk": "sendbulk", "e2e": "end_to_end", "dlr": "dlr_ingest"}


def select(names: str | None) -> list[ModuleType]:
    """Scenarios by name, letter or alias (``a,c``, ``dlr``); all of them for None or ``all``."""
    if not names or names == "all":
        return list(SCENARIOS.values())
    chosen = []
    for raw in names.split(","):
        name = ALIASES.get(raw.strip().lower(), raw.strip().lower())
        if name not in SCENARIOS:
            known = ", ".join([*SCENARIOS, *ALIASES])
            raise ValueError(f"unknown scenario {raw!r} (known: {known})")
        if SCENARIOS[name] not in chosen:
            chosen.append(SCENARIOS[name])
    return chosen
