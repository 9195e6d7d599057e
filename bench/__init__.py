"""`make bench`: Mkopo's money-core figures at scale, printed as a table."""
