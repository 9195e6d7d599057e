"""Flask CLI commands: create-user, seed-demo, audit verify."""

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

    @loans_cli.command("accrue")
    @click.option("--date", "on", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                  help="Accrue as of this day (default today). Running it twice for a day charges nothing more.")
    def loans_accrue(on):
        """Charge late penalties on overdue installments."""
        from datetime import date

        from portal.services.arrears import accrue_penalties

        day = on.date() if on else date.today()
        charged, total = accrue_penalties(day)
        db.session.commit()
        click.echo(f"Penalties to {day:%Y-%m-%d}: {charged} loans charged, {total:,.2f} in all.")

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
