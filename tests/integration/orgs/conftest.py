"""Re-export the orgs fixtures (helpers live in orgs_factories.py for import by tests)."""

from orgs_factories import tree  # noqa: F401
