"""README's Configuration table and the settings agree: every variable gateway/settings.py reads
from the environment has a row, every row names a variable something in the checkout reads, and
every literal default in settings.py is the one the table states."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SETTINGS = ROOT / "gateway" / "settings.py"
# Where the variables that are not Django settings are read: make run's processes, gunicorn,
# the sandbox, the supervisor, prometheus_client.
OTHER_READERS = [
    ROOT / "Makefile", ROOT / "Procfile", ROOT / "gateway" / "gunicorn_conf.py", ROOT / "scripts" / "supervise.sh",
    ROOT / "sandbox" / "config.py", ROOT / "gateway" / "metrics.py",
]
UNSET = object()


def configuration_rows() -> dict[str, str | None]:
    """Variable name -> the default the table states for it (None: not one literal value)."""
    section = README.read_text().split("## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str | None] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        names = re.findall(r"`([A-Z][A-Z0-9_]+)`", cells[0])
        defaults = [part.strip() for part in cells[1].split(",")] if len(names) > 1 else [cells[1]]
        for index, name in enumerate(names):
            stated = defaults[index] if len(defaults) == len(names) else None
            match = re.fullmatch(r"`([^`]*)`.*", stated or "")
            rows[name] = match.group(1) if match else None
    return rows


def settings_env_defaults() -> dict[str, object]:
    """Variable name -> the literal default settings.py gives it (UNSET when not a literal)."""
    found: dict[str, object] = {}
    for node in ast.walk(ast.parse(SETTINGS.read_text())):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if not (isinstance(node.func.value, ast.Name) and node.func.value.id == "env"):
            continue
        if not (node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            continue
        default = next((k.value for k in node.keywords if k.arg == "default"), None)
        try:
            value = eval(compile(ast.Expression(default), "<default>", "eval"), {"__builtins__": {}})  # noqa: S307
        except Exception:  # a name or an f-string: a computed default
            value = UNSET
        found[node.args[0].value] = value
    return found


def _as_table_text(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ",".join(value)
    return str(value)


def test_every_variable_settings_reads_has_a_row():
    missing = sorted(set(settings_env_defaults()) - set(configuration_rows()))
    assert missing == []


def test_every_row_names_a_variable_the_checkout_reads():
    read_elsewhere = "\n".join(path.read_text() for path in OTHER_READERS)
    unread = [
        name for name in configuration_rows()
        if name not in settings_env_defaults() and not re.search(rf"\b{name}\b", read_elsewhere)
        and name != "ENV_FILE"  # read by settings.py through os.environ, before env() exists
    ]
    assert unread == []
    assert 'os.environ.get("ENV_FILE")' in SETTINGS.read_text()


def test_the_stated_defaults_are_the_defaults():
    rows = configuration_rows()
    compared = 0
    for name, default in settings_env_defaults().items():
        stated = rows.get(name)
        if default is UNSET or default is None or stated is None:
            continue
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            assert float(stated) == float(default), name
        else:
            assert stated == _as_table_text(default), name
        compared += 1
    assert compared >= 40  # the table states most defaults as literals: this compared them
