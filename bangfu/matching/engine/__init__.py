"""The match engine: pure Python and SQL, no Django (conventions §4).

Persons of the registry and department datasets meet as Parquet/Arrow snapshots keyed on the
64-bit keyed hash of the normalised ID number, with a 64-bit key of the normalised name beside
it (the name check is an integer comparison); the rules are SQL run by DuckDB (default) or
Spark, and the findings are assembled by one SQL query over the rules' rows, so both engines
give the same findings and no row passes through Python.
"""

from .names import normalise_name, same_name
from .rules import Finding, RuleParams
from .schemas import DatasetKind

__all__ = ["DatasetKind", "Finding", "RuleParams", "normalise_name", "same_name"]
