"""The business rules, shared by the portal and the API. Services flush; callers commit."""
