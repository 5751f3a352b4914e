"""Re-export the auth fixtures (helpers live in auth_factories.py for import by tests)."""

from auth_factories import tree  # noqa: F401
