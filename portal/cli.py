"""Flask CLI commands: users, demo data, the daily jobs, ledger and audit checks, the job worker."""

import sys

import click
from flask import Flask
from sqlalchemy import func, select

from portal.models import Role, User
from portal.models.base import db


def register(app: Flask) -> None:
    @app.cli.command("create-user")
    @click.option("--username", required=True)
    @click.option("--password", required=True, prompt=True, hide_input=True, confirmation_prompt=True)
    @click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
    @click.option("--email")
    @click.option("--first-name", default="")
    @click.option("--last-name", default="")
    def create_user(username, password, role, email, first_name, last_name):
        """Create a user of any role (run on the server: this is how the first admin is made)."""
        from portal.services import users
        from portal.services.errors import ValidationFailed

        try:
            user = users.create(users.NewUser(username=username, password=password, role=Role(role), email=email,
                                              first_name=first_name, last_name=last_name),
                                actor=None, by_system=True)
        except ValidationFailed as exc:
            for field, messages in exc.errors.items():
                click.echo(f"{field}: {' '.join(messages)}", err=True)
            sys.exit(1)
        db.session.commit()
        click.echo(f"Created {user.role.value} {user.username} (id {user.id}).")

    @app.cli.command("seed-demo")
    @click.option("--customers", default=200, show_default=True)
    def seed_demo(customers):
        """Load realistic Kenyan demo data (refuses when users already exist)."""
        from portal import demo

        if db.session.scalar(select(func.count()).select_from(User)):
            click.echo("The database already has users; demo data was not loaded.")
            return
        logins = demo.seed(customer_count=customers)
        db.session.commit()
        click.echo(f"Demo data loaded. Every demo login uses the password {demo.PASSWORD!r}:")
        for username, role in logins:
            click.echo(f"  {role:<19} {username}")

    ledger_cli = click.Group("ledger", help="The double-entry ledger.")
    app.cli.add_command(ledger_cli)

    @ledger_cli.command("verify")
    def ledger_verify():
        """Check every ledger invariant; exit 1 at the first breach."""
        from portal.services.ledger import verify

        report = verify()
        checked = ", ".join(f"{count} {name}" for name, count in report.checks.items())
        if report.ok:
            click.echo(f"Ledger balanced: {checked} checked.")
            return
        click.echo(f"Ledger BREACH: {report.breaches[0]} ({len(report.breaches)} found; {checked}).", err=True)
        sys.exit(1)

    loans_cli = click.Group("loans", help="Loan jobs.")
    app.cli.add_command(loans_cli)

    day_option = click.option("--date", "on", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                              help="Run as of this business day (default today). Running twice changes nothing more.")

    def business_day(on):
        from portal.services.business_day import today

        return on.date() if on else today()

    def accrue(day):
        from portal.services.arrears import accrue_penalties

        charged, total = accrue_penalties(day, workers=app.config["ACCRUE_WORKERS"])
        db.session.commit()
        click.echo(f"Penalties to {day:%Y-%m-%d}: {charged} loans charged, {total:,.2f} in all.")

    def settle_promises(day):
        from portal.services.promises import evaluate

        settled = evaluate(day)
        db.session.commit()
        click.echo(f"Promises due before {day:%Y-%m-%d}: {settled.kept} kept, {settled.partially_kept} partially kept, "
                   f"{settled.broken} broken; {settled.kept_early} not yet due already covered.")

    def book_payments(retry_failed=False):
        from portal.models import MpesaReceipt, ReceiptStatus
        from portal.services.mpesa_inbox import book_pending

        tried = book_pending(retry_failed=retry_failed)
        failed = db.session.query(MpesaReceipt).filter_by(status=ReceiptStatus.FAILED).count()
        click.echo(f"M-Pesa receipts booked: {tried} tried; {failed} failed, waiting for --retry-failed.")

    payments_cli = click.Group("payments", help="Payment jobs.")
    app.cli.add_command(payments_cli)

    @payments_cli.command("book")
    @click.option("--retry-failed", is_flag=True, help="Also try again the receipts whose booking failed.")
    @click.option("--follow", is_flag=True, help="Keep booking as receipts arrive, until stopped "
                                                  "(the booker process, with MPESA_BOOKER=process).")
    def payments_book(retry_failed, follow):
        """Book M-Pesa receipts still waiting: once (catching any a stopped process left behind), or
        continuously as the booker process."""
        book_payments(retry_failed)
        if follow:
            from portal.services.mpesa_inbox import follow as book_as_they_arrive

            book_as_they_arrive()

    @loans_cli.command("accrue")
    @day_option
    def loans_accrue(on):
        """Charge late penalties on overdue installments."""
        accrue(business_day(on))

    collections_cli = click.Group("collections", help="Collections jobs.")
    app.cli.add_command(collections_cli)

    @collections_cli.command("promises")
    @day_option
    def collections_promises(on):
        """Settle promises to pay: kept, partially kept or broken."""
        settle_promises(business_day(on))

    @app.cli.command("daily")
    @day_option
    def daily(on):
        """The nightly job: book any M-Pesa receipts left waiting, accrue penalties, settle promises to pay."""
        day = business_day(on)
        book_payments()
        accrue(day)
        settle_promises(day)

    audit_cli = click.Group("audit", help="The audit trail.")
    app.cli.add_command(audit_cli)

    @audit_cli.command("verify")
    def audit_verify():
        """Walk the hash chain; exit 1 at the first broken link."""
        from portal.services.audit import verify_chain

        report = verify_chain()
        if report.ok:
            click.echo(f"Audit trail intact: {report.checked} rows verified.")
            return
        click.echo(f"Audit trail BROKEN at row {report.broken_id}: {report.reason} "
                   f"({report.checked} rows before it verified).", err=True)
        sys.exit(1)

    jobs_cli = click.Group("jobs", help="Background jobs (long PDF statements).")
    app.cli.add_command(jobs_cli)

    @jobs_cli.command("worker")
    @click.option("--burst", is_flag=True, help="Stop once the queue is empty.")
    def jobs_worker(burst):
        """Serve the job queue (JOB_BACKEND=rq, REDIS_URL): run one per web deployment, or more."""
        from portal.services.jobs import work

        if app.config["JOB_BACKEND"] != "rq":
            click.echo("JOB_BACKEND is not rq: jobs run inside the web process and need no worker.", err=True)
            sys.exit(1)
        work(burst=burst)
