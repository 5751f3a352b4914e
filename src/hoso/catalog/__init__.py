"""The field catalogue, code lists and quality rules of the data standard, shipped as data."""
