"""Web layer: the error table (problem+json / HTML), templates, static files, site pages."""
