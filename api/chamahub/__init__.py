"""002 ChamaHub: the savings-group platform (token now; its thirteen apps come later)."""
