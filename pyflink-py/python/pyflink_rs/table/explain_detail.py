"""``ExplainDetail``: what ``Table.explain`` and ``TableEnvironment.explain_sql`` show besides
the plans."""

import enum


class ExplainDetail(enum.Enum):
    """A detail of an explanation. ``PLAN_ADVICE`` heads the optimized plan ``== Optimized
    Physical Plan With Advice ==`` and adds the advice found; the others are refused as not
    supported yet."""

    ESTIMATED_COST = 0
    CHANGELOG_MODE = 1
    JSON_EXECUTION_PLAN = 2
    PLAN_ADVICE = 3


def _detail_names(details):
    """The names of ``details`` (``ExplainDetail`` members, or their names as strings)."""
    return [detail.name if isinstance(detail, ExplainDetail) else str(detail) for detail in details]
