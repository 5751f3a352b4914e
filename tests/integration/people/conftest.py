"""Re-export the people fixtures (helpers live in conftest_people.py for import by tests)."""

from conftest_people import orgs  # noqa: F401
