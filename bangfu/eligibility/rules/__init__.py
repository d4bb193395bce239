"""The pure identification engine: no Django here (conventions §4)."""

from .engine import decide, decide_legacy, decide_summary, summarise
from .model import (
    DEPTH,
    ELIGIBLE,
    PROBLEM_INPUTS,
    BusinessRoleFacts,
    Category,
    Comparison,
    Decision,
    HomeFacts,
    HouseholdFacts,
    HouseholdSummary,
    MemberFacts,
    Reason,
    RuleSet,
    Standard,
)

__all__ = [
    "DEPTH",
    "ELIGIBLE",
    "PROBLEM_INPUTS",
    "BusinessRoleFacts",
    "Category",
    "Comparison",
    "Decision",
    "HomeFacts",
    "HouseholdFacts",
    "HouseholdSummary",
    "MemberFacts",
    "Reason",
    "RuleSet",
    "Standard",
    "decide",
    "decide_legacy",
    "decide_summary",
    "summarise",
]
