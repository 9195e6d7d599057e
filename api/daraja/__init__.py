"""Callbacks from Safaricom's M-Pesa Daraja API (STK push results, C2B confirmations, B2C results)."""
