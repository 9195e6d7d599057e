"""Forms of the collections workspace; the interactions service does the validating."""

from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import FileField, HiddenField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from portal.models import ContactOutcome, Disposition
from portal.models.base import db

OUTCOMES = [SelectChoice("", "—"), SelectChoice(ContactOutcome.RIGHT_PARTY.value, "Spoke to the customer"),
            SelectChoice(ContactOutcome.THIRD_PARTY.value, "Spoke to someone else"),
            SelectChoice(ContactOutcome.NO_CONTACT.value, "No contact")]


class InteractionForm(FlaskForm):
    # The service judges every value (and says why), so the selects do not refuse on their own.
    kind = SelectField("Type", choices=[SelectChoice("calling", "Call"), SelectChoice("field", "Field visit")],
                       validate_choice=False)
    disposition_code = SelectField("Outcome", validate_choice=False)
    contact_outcome = SelectField("Who answered", choices=OUTCOMES, validate_choice=False)
    comment = TextAreaField("Notes")
    promise_amount = StringField("Promised amount", description="For a promise to pay.")
    promise_date = StringField("Promised by")
    next_call_date = StringField("Next contact")
    photo = FileField("Photo", description="Field visits: a JPEG or PNG of the premises, if useful.")
    latitude = HiddenField()
    longitude = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.disposition_code.choices = [SelectChoice("", "Choose…")] + [
            SelectChoice(d.code, d.label) for d in db.session.scalars(
                select(Disposition).where(Disposition.active.is_(True)).order_by(Disposition.label))]

    def service_values(self) -> dict:
        return {name: getattr(self, name).data for name in (
            "disposition_code", "contact_outcome", "comment", "promise_amount", "promise_date", "next_call_date",
            "latitude", "longitude")}


class ReassignForm(FlaskForm):
    """Bulk reassignment from the queue: the chosen loans to a calling agent, or their customers to an officer."""

    loan_ids = SelectMultipleField(coerce=int, validate_choice=False)
    target = StringField()  # "agent:<id>" or "officer:<id>"
