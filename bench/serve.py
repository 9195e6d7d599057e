"""Mkopo as gunicorn serves it in the bench (the bench database, a webhook secret, no rate limits)."""

import os

from portal import create_app

app = create_app({"SQLALCHEMY_DATABASE_URI": os.environ["BENCH_DATABASE_URL"], "RATELIMIT_ENABLED": False,
                  "MPESA_WEBHOOK_SECRET": os.environ["BENCH_WEBHOOK_SECRET"]})
