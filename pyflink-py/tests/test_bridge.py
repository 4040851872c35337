"""The boundary between the engine and the package's Python: every name the engine's
`bridge.rs` imports from `pyflink_rs.bridge` is there, and the module lists no name the engine
does not use."""

import pathlib
import re

import pytest

from pyflink_rs import bridge
from pyflink_rs.common.types import Row, RowKind

BRIDGE_RS = pathlib.Path(__file__).resolve().parents[1] / "src" / "bridge.rs"


def engine_names():
    return sorted(re.findall(r'=> "([A-Za-z_]+)";', BRIDGE_RS.read_text()))


def test_the_module_has_what_the_engine_imports_and_nothing_else():
    names = engine_names()
    assert len(names) > 10, "bridge.rs names no entry: its pattern changed"
    assert sorted(bridge.__all__) == names
    for name in names:
        assert callable(getattr(bridge, name)), name


@pytest.mark.parametrize(
    "kind, short", [(RowKind.INSERT, "+I"), (RowKind.UPDATE_BEFORE, "-U"), (RowKind.UPDATE_AFTER, "+U"),
                    (RowKind.DELETE, "-D")])
def test_rows_print_their_kind(kind, short):
    row = bridge.build_row((1, "a"), ("id", "name"))
    assert row.id == 1 and row.name == "a" and row.get_row_kind() == RowKind.INSERT
    row.set_row_kind(kind)
    assert bridge.row_kind_short(row) == short
    # A tuple given where a row is declared prints as an insertion.
    assert bridge.row_kind_short((1, "a")) == "+I"
    assert isinstance(row, Row)
