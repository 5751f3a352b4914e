"""hoso: electronic dossiers of Vietnamese cadres, civil servants and public employees.

The software of the national database on cadres, civil servants and public employees
(CSDLQG về CBCCVC): per-agency dossiers with history, the catalogue of TT 06/2023 fields,
bulk import and export, an HTTP API, a CLI and server-rendered pages in Vietnamese.
"""

__version__ = "0.1.0"
