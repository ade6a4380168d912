"""No test module imports another test module.

Shared Odoo test bases and assertion helpers live in ``tests/common.py``, shared pytest
fixtures in ``tools/tests/conftest.py``: a test module reads, moves or goes on its own,
and a base subclassed from another test module cannot make Odoo's loader run its tests
twice. This reads every test module with ``ast`` (nothing is imported).
"""

import ast
from pathlib import Path

import pytest

ADDON_DIR = Path(__file__).resolve().parents[2]
TEST_DIRS = (ADDON_DIR / "tests", ADDON_DIR / "tools" / "tests")
SHARED = {"common.py", "conftest.py"}  # the modules tests may import from


def find_test_modules():
    """Every module of the test folders but their ``__init__`` (which registers them)."""
    return sorted(
        path for folder in TEST_DIRS for path in folder.glob("*.py") if path.name != "__init__.py"
    )


def imported_files(path, source):
    """The files the module at ``path`` may import, one per import and imported name:
    ``from .x import y`` may be ``x.py`` or ``x/y.py``. Paths need not exist."""
    for node in ast.walk(ast.parse(source, str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield _absolute_target(path, alias.name).with_suffix(".py")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = path.parents[node.level - 1]
                target = base.joinpath(*node.module.split(".")) if node.module else base
            else:
                target = _absolute_target(path, node.module)
            yield target.with_suffix(".py")
            for alias in node.names:
                if alias.name != "*":
                    yield (target / alias.name).with_suffix(".py")


def _absolute_target(path, module):
    """Where ``module`` lies if it is ours: under the addon when it is named through
    ``sms_journey`` (or ``odoo.addons.sms_journey``), else next to ``path`` (pytest's
    rootdir-style ``import test_x``)."""
    parts = module.split(".")
    if parts[:2] == ["odoo", "addons"]:
        parts = parts[2:]
    if parts[0] == ADDON_DIR.name:
        return ADDON_DIR.joinpath(*parts[1:])
    return path.parent.joinpath(*parts)


def imported_test_modules(path, source, modules):
    """The test modules among ``modules`` that ``source`` (the module at ``path``) imports."""
    others = {module for module in modules if module.name not in SHARED and module != path}
    return sorted({target for target in imported_files(path, source) if target in others})


def test_no_test_module_imports_another():
    modules = find_test_modules()
    assert len(modules) > 40, "the test folders moved: update TEST_DIRS"
    found = [
        f"{path.relative_to(ADDON_DIR)} imports {target.relative_to(ADDON_DIR)}"
        for path in modules
        for target in imported_test_modules(path, path.read_text(encoding="utf-8"), modules)
    ]
    assert not found, (
        "move what is shared to tests/common.py or tools/tests/conftest.py:\n" + "\n".join(found)
    )


PROBE = ADDON_DIR / "tests" / "test_probe.py"


@pytest.mark.parametrize(
    "source",
    [
        "from .test_outbox import TestOutboxDispatch",
        "from . import test_outbox",
        "from ..tests import test_outbox",
        "from ..tests.test_outbox import NUMBER",
        "import sms_journey.tests.test_outbox",
        "from odoo.addons.sms_journey.tests.test_outbox import NUMBER",
        "from ..tools.tests.test_policy import NOW",
        "def helper():\n    from .test_outbox import NUMBER",
    ],
)
def test_the_guard_sees_every_import_form(source):
    modules = [*find_test_modules(), PROBE]
    assert imported_test_modules(PROBE, source, modules)


@pytest.mark.parametrize(
    "source",
    [
        "from .common import LINK, JourneyCaseMixin",
        "from . import common",
        "from ..tools import flow",
        "from ..models.sms_sender import SmsRequest",
        "from odoo.tests import tagged",
        "import pytest",
    ],
)
def test_the_guard_allows_shared_and_package_imports(source):
    modules = [*find_test_modules(), PROBE]
    assert not imported_test_modules(PROBE, source, modules)
