"""Forms of the KYC area; the kyc service judges the values (and says why)."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import RadioField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from portal.blueprints.forms import DOCUMENT_KINDS
from portal.services import kyc


class ApproveForm(FlaskForm):
    kyc_level = RadioField("KYC tier", validate_choice=False)
    approved_documents = SelectMultipleField("Documents accepted", coerce=int, validate_choice=False)
    notes = TextAreaField("Notes", description="For the record; the customer is not shown them.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kyc_level.choices = [
            SelectChoice(level.value, f"{level.value.replace('_', ' ').capitalize()}: "
                                      + (f"loans up to {ceiling:,.0f}" if ceiling is not None else "no loan ceiling"))
            for level, ceiling in kyc.tiers()]


class RejectForm(FlaskForm):
    reason = TextAreaField("Reason", description="The customer is told this reason.")
    notes = TextAreaField("Notes", description="What to do next (e.g. “Please resubmit a clearer photo”); "
                                               "the customer is told this too.")


class KycUploadForm(FlaskForm):
    doc_type = SelectField("Document", choices=DOCUMENT_KINDS)
    document_number = StringField("Number on the document",
                                  description="Required for IDs, passports, licences, Aadhaar, PAN and KRA PIN.")
    issue_date = StringField("Issued on")
    expiry_date = StringField("Expires on", description="Leave blank if it does not expire.")
    file = FileField("File")
