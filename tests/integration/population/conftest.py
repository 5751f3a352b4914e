"""Re-export the population fixtures (helpers live in conftest_population.py for import by tests)."""

from conftest_population import (  # noqa: F401
    _population_tables_session,
    popsim,
    population_tables,
    registry,
    world,
)
