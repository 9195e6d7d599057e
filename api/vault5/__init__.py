"""004 Vault5: personal finance and informal lending (auth now; accounts and lending come later)."""
