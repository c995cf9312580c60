"""Red team 4 (issue 22, hostile Hub answers): `trace` shows each copy's `createdAt` as the Hub
gives it. A stamp that parses but has no time in UTC (`9999-12-31T23:59:59-23:59`) raised
OverflowError out of `when`, so one odd asset row ended `trace`; it is shown as the text it is."""
from __future__ import annotations

import pytest

from hub_import.ops.trace_report import when


@pytest.mark.parametrize("stamp", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00"])
def test_a_stamp_with_no_time_in_utc_is_shown_as_given(stamp):
    assert when(stamp) == stamp
