"""Forms of the loans area; the loans and repayments services judge the values (and say why)."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from portal.models import DisbursementChannel, LoanProduct


def _optional_int(value):
    return int(value) if str(value or "").strip().isdigit() else None


def product_label(product: LoanProduct) -> str:
    rate = f"{product.annual_rate.normalize():f}"
    return (f"{product.name}: {rate}% {product.interest_method.value}, {product.term_periods} "
            f"{product.frequency.value}, {product.min_principal:,.0f} to {product.max_principal:,.0f}")


class ApplicationForm(FlaskForm):
    customer_id = HiddenField()
    product_id = SelectField("Product", coerce=_optional_int, validate_choice=False,
                             validators=[InputRequired("Choose a loan product.")])
    principal = StringField("Amount (KES)", description="What the customer asks for, e.g. 50,000.")
    term_periods = StringField("Installments", description="Leave blank for the product's term.")
    purpose = StringField("Purpose", description="What the money is for: stock, equipment, school fees …")

    def set_products(self, products: list[LoanProduct]) -> None:
        self.product_id.choices = [SelectChoice("", "Choose…")] + [
            SelectChoice(str(p.id), product_label(p)) for p in products]

    def service_values(self) -> dict:
        return {"product_id": self.product_id.data, "principal": (self.principal.data or "").strip(),
                "term_periods": (self.term_periods.data or "").strip() or None,
                "purpose": (self.purpose.data or "").strip()}


class RejectForm(FlaskForm):
    reason = TextAreaField("Reason", description="The customer is told this reason.")


class BulkApproveForm(FlaskForm):
    loan_ids = SelectMultipleField(coerce=int, validate_choice=False)


class DisburseForm(FlaskForm):
    channel = RadioField("Pay out to", choices=[
        SelectChoice(DisbursementChannel.MPESA.value, "M-Pesa (the customer's phone)"),
        SelectChoice(DisbursementChannel.SAVINGS.value, "The customer's savings account")],
        validators=[InputRequired("Choose how to pay the loan out.")])


class RepaymentForm(FlaskForm):
    amount = StringField("Cash received (KES)")


class ReasonForm(FlaskForm):
    reason = TextAreaField("Reason")
