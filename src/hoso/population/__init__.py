"""Matching with the national population registry (CSDLQG về dân cư) and the sync back.

Layout: ``models.py`` (runs and the current result per person), ``client.py`` (the
resilient HTTP client of the registry), ``matching.py`` (deterministic comparison of the
registry-mastered fields), ``probabilistic.py`` (Splink for records without a usable ID),
``service.py`` (match runs, results, review, corrections), ``cli.py``, ``api.py``,
``views.py``. The registry simulator used in development is :mod:`hoso.popsim`.
"""
