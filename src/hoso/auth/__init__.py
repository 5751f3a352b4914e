"""Users, roles, sign-in tokens and the caller's organisation scope."""
