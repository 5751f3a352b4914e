"""The approval workflow: submit, verify, approve with the official's signature (ký số phê duyệt)."""
