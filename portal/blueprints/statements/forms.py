"""The statement period form: fields only. The rules live in portal.services.statements.parse_period."""

from flask_wtf import FlaskForm
from wtforms import StringField


class PeriodForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form that only reads

    start = StringField("From", description="The first day of the statement, YYYY-MM-DD.")
    end = StringField("To", description="The last day, today at the latest. Both days are included.")
