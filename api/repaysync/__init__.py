"""003 RepaySync: the collections API (auth, users, customers, logs)."""
