"""Customer forms: fields only. The rules live in portal.services.customers."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from portal.blueprints.forms import DOCUMENT_KINDS
from portal.services.customers import FIELDS


class CustomerForm(FlaskForm):
    name = StringField("Full name")
    phone = StringField("Phone", description="Kenyan 07xx / +2547xx, or +91 for India")
    email = StringField("E-mail")
    national_id = StringField("National ID number")
    business_name = StringField("Business name")
    location = StringField("Location / market")
    address_line_1 = StringField("Address line 1")
    address_line_2 = StringField("Address line 2")
    city = StringField("City / town")
    state = StringField("County / state")
    pincode = StringField("Postal code")
    date_of_birth = DateField("Date of birth", validators=[Optional()])
    assigned_officer_id = SelectField("Collection officer", choices=[], validate_choice=False)

    def service_values(self, include_assignment: bool) -> dict:
        return {name: getattr(self, name).data for name in FIELDS
                if hasattr(self, name) and (include_assignment or name != "assigned_officer_id")}


class CustomerFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form

    q = StringField("Search")
    location = StringField("Location")
    kyc_status = SelectField("KYC", choices=[
        SelectChoice("", "Any KYC status"), SelectChoice("unverified", "Unverified"),
        SelectChoice("pending", "Pending"), SelectChoice("verified", "Verified"), SelectChoice("rejected", "Rejected")])
    has_documents = SelectField("Documents", choices=[
        SelectChoice("", "With or without documents"), SelectChoice("yes", "With documents"),
        SelectChoice("no", "Without documents")])
    sort = SelectField("Sort", choices=[SelectChoice("newest", "Newest first"), SelectChoice("oldest", "Oldest first"),
                                        SelectChoice("name", "Name A-Z")])


class DocumentUploadForm(FlaskForm):
    doc_type = SelectField("Document", choices=DOCUMENT_KINDS)
    file = FileField("File", description="JPEG, PNG or PDF")
