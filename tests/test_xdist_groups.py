"""Under `make test`'s `--dist loadgroup`, each container/bench group runs on one xdist worker."""

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_serial_folders_tests_stay_on_one_worker(tmp_path):
    (tmp_path / "conftest.py").write_text(
        textwrap.dedent(
            f"""
            import sys
            sys.path.insert(0, {str(ROOT)!r})
            import pytest
            from tests import xdist_groups

            @pytest.hookimpl(tryfirst=True)
            def pytest_collection_modifyitems(config, items):
                xdist_groups.group(config, items)
            """
        )
    )
    bench = tmp_path / "bench"
    bench.mkdir()
    trivial = "\n".join(f"def test_{n}():\n    assert True\n" for n in range(8))
    (bench / "test_slow.py").write_text(trivial)
    (tmp_path / "test_free.py").write_text(trivial)
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-v",
         "-p", "xdist.plugin", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},  # only xdist: starts faster
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    grouped = re.findall(r"\[(gw\d)\].*bench/test_slow\.py::test_\d@bench-test_slow", out.stdout)
    assert len(grouped) == 8, out.stdout  # every test carries its group in its id ...
    assert len(set(grouped)) == 1, grouped  # ... and all ran on the same worker
    free = re.findall(r"\[gw\d\].*test_free\.py::test_\d( |@)", out.stdout)
    assert free == [" "] * 8  # ungrouped tests keep their ids (xdist may run them anywhere)


def test_the_set_up_part_goes_last_and_each_part_keeps_its_order():
    from types import SimpleNamespace

    from tests import xdist_groups

    class Item(SimpleNamespace):
        def get_closest_marker(self, name):
            return name if name in self.marks else None

        def iter_markers(self, name):
            return []

        def add_marker(self, marker):
            self.marks = (*self.marks, "xdist_group")

    def item(folder, *marks):
        return Item(path=ROOT / "tests" / folder / "test_x.py", marks=marks, name=folder)

    items = [item("deploy"), item("bench"), item("notebooks", "slow"), item("service", "needs")]
    items.append(item("emulator"))
    xdist_groups.group(SimpleNamespace(option=SimpleNamespace()), items)
    assert [i.name for i in items] == ["deploy", "notebooks", "emulator", "bench", "service"]
