"""The data-plane benchmark runs (quick: compressed clock, one sample each) and fills every figure."""

from bench import dataplane


def test_a_quick_run_gives_every_figure_a_value_and_says_its_mode_and_clock():
    figures = dataplane.run(quick=True)
    names = [f.name for f in figures]
    assert len(names) == 7 and len(set(names)) == 7
    assert [f.name for f in figures if f.value is None] == []
    assert all(f.area == "data plane" for f in figures)
    assert all("process mode, compressed clock" in f.note for f in figures)
    failed = next(f for f in figures if f.name.startswith("failed requests"))
    assert failed.value == 0  # the roll itself, not a timing: no client request may fail
