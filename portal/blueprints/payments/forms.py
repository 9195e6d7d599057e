"""Forms of the payments area; the repayments service judges the assignment itself (and says why)."""

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import InputRequired


class AssignForm(FlaskForm):
    """The loan a payment held in suspense goes to: looked up first, then confirmed."""

    loan_number = StringField("Loan number", validators=[InputRequired("Type the loan number.")],
                              filters=[lambda value: (value or "").strip().upper()])
