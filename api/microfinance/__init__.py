"""000 Microfinance: client and staff profiles, transactions and loan details."""
