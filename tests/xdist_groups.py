"""Keep each container/benchmark group of tests on one pytest-xdist worker (`--dist loadgroup`)."""

import pytest
from _pytest.nodeid import coerce_node_id

# The container tests share one built image (a session fixture): under pytest-xdist they run
# on one worker, in file order. Each benchmark module runs on one worker too (a quick bench
# run is a few long steps in order); different modules may run at once on different workers:
# they share only the guide's PyTorch environment, whose build is locked (bench/_guide_env.py).
SERIAL_FOLDERS = ("container", "bench")


def group_of(item: pytest.Item) -> str:
    """Return the xdist group of a test in a serial folder."""
    folder = item.path.parent.name
    return folder if folder == "container" else f"{folder}-{item.path.stem}"


def serial(item: pytest.Item) -> bool:
    """Tell whether a test belongs to a group (a module there that shares nothing is `independent`)."""
    return item.path.parent.name in SERIAL_FOLDERS and not item.get_closest_marker("independent")


def needs_setup(item: pytest.Item) -> bool:
    """Tell whether a test waits for make test's background set-up."""
    return serial(item) or item.get_closest_marker("needs") is not None


def group(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the groups, put what needs the set-up last, and make xdist see the groups."""
    for item in items:
        if serial(item):
            item.add_marker(pytest.mark.xdist_group(group_of(item)))
    # The set-up (system packages, base image) runs in the background meanwhile.
    items.sort(key=needs_setup)  # stable: each part keeps its order
    if getattr(config.option, "loadgroup", False):  # an xdist worker under --dist loadgroup
        for item in items:
            suffix_group(item)


def suffix_group(item: pytest.Item) -> None:
    """Append the "@group" suffix xdist schedules by to a grouped test's node id."""
    # xdist 3.8 writes that suffix to `_nodeid`, but pytest 9.2 reads node ids from `_id`:
    # without this every group was split over the workers (each worker built its own image
    # and brought compose up once more).
    groups = sorted({str(m.args[0]) for m in item.iter_markers("xdist_group") if m.args})
    if groups and "@" not in item.nodeid.rpartition("]")[2].rpartition("::")[2]:
        item._id = coerce_node_id(f"{item.nodeid}@{'_'.join(groups)}")
