"""001 SokoCredit: lending for small traders (auth suite, customers)."""
