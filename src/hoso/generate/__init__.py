"""Synthetic data: a realistic org tree and civil-servant dossiers, with labelled defects.

- :func:`hoso.generate.orgs.generate_orgs` - the org tree (``OrgUnit`` dicts);
- :func:`hoso.generate.people.generate_people` - bulk lines with their defect labels;
- :func:`hoso.generate.people.generate_registry` - the population registry's view of a run;
- :mod:`hoso.generate.defects` - which defect represents which quality-rule category;
- :mod:`hoso.generate.cli` - ``hoso generate orgs|people``.
"""
