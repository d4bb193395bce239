"""Deterministic synthetic data for demos, tests and benchmarks (``bangfu seed``).

Not a Django app: it has no models. ``tree`` builds a province's union tree from the division
table, ``generate`` makes household rows from a random seed, ``load`` writes them in bulk (COPY on
PostgreSQL), and ``run.seed_run`` ties them together in one transaction.
"""
