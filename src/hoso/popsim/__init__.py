"""Population-registry simulator: a stand-in for the CSDLQG về dân cư (issue 5 item 1).

A separate HTTP service with its *own* database (``HOSO_POPSIM_DATABASE_URL``), used in
development, tests, the demo and the benchmark in place of the registry run by Bộ Công an.

- :mod:`hoso.popsim.models` — the ``citizen`` table on its own ``DeclarativeBase`` (hoso's
  migrations never see it), ``open_engine()`` (``create_all`` on start);
- :mod:`hoso.popsim.fields` — the registry's fields (from the catalogue), ``name_key``,
  ``validate_citizen``;
- :mod:`hoso.popsim.service` — reads: lookup by ID or old CMND, batch verify, search;
- :mod:`hoso.popsim.writer` — bulk writes (COPY on PostgreSQL, executemany on SQLite);
- :mod:`hoso.popsim.load` — ``load(engine, path)``: validated JSON Lines, upsert by ID;
- :mod:`hoso.popsim.seed` — ``seed(engine, ...)``: citizens consistent with generated civil
  servants, other citizens, deliberate differences and their ground truth;
- :mod:`hoso.popsim.api` — ``create_app(settings=None)``, the HTTP API (``/v1``);
- :mod:`hoso.popsim.cli` — ``register(app)`` adds ``serve``, ``seed`` and ``load``
  (also ``python -m hoso.popsim …``).
"""
