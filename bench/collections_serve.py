"""Mkopo as gunicorn serves it in the collections bench (the bench database and secret, no rate limits)."""

import os

from portal import create_app

app = create_app({"SQLALCHEMY_DATABASE_URI": os.environ["BENCH_DATABASE_URL"], "RATELIMIT_ENABLED": False,
                  "SECRET_KEY": os.environ["BENCH_SECRET_KEY"]})
