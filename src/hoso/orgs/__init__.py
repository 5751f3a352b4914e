"""Agencies and units: the dated organisation tree, staffing quotas and scopes."""
