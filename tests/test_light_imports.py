"""Import hygiene: the component modules load without heavy libraries, so listing and
validating stay fast (cycles and layering: tests/test_architecture.py)."""

from __future__ import annotations

import subprocess
import sys

from conftest import subprocess_env


def test_every_component_module_imports_only_the_standard_library() -> None:
    code = (
        "import sys, importlib, djsandbox.catalog as c\n"
        "for m in c.COMPONENT_MODULES: importlib.import_module(m)\n"
        "print(sorted(m for m in ('numpy', 'pyarrow', 'pandas', 'scipy', 'sklearn', 'torch',"
        " 'data_juicer', 'modelscope') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        check=True,
    )
    assert out.stdout.strip() == "[]"
