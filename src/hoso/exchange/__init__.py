"""The signed exchange between agency systems and the national database (``hoso-exchange/1``)."""
