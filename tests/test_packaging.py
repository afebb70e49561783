"""pyproject's explicit package list names every package under src/litelens (a normal, non-editable
install — e.g. on a Raspberry Pi — ships only the listed ones)."""
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_every_package_is_listed():
    text = (REPO / "pyproject.toml").read_text()
    listed = set(re.findall(r'"(litelens(?:\.[a-z_]+)*)"', text.split("packages =", 1)[1].split("]", 1)[0]))
    found = {"litelens.kernels"}
    for init in (REPO / "src" / "litelens").rglob("__init__.py"):
        parts = init.parent.relative_to(REPO / "src").parts
        found.add(".".join(parts))
    assert found <= listed, f"add to pyproject's packages: {sorted(found - listed)}"
