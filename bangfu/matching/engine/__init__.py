"""The match engine: pure Python and SQL, no Django (conventions §4).

Persons of the registry and department datasets meet as Parquet/Arrow snapshots keyed on the
64-bit keyed hash of the normalised ID number; the rules are SQL run by DuckDB (default) or
Spark; names are compared afterwards, in Python, as the second signal.
"""

from .names import normalise_name, same_name
from .rules import Finding, Hit, RuleParams, build_findings
from .schemas import DatasetKind

__all__ = ["DatasetKind", "Finding", "Hit", "RuleParams", "build_findings", "normalise_name", "same_name"]
