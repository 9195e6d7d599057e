"""The upload form: fields only. The rules live in portal.services.bulk_upload."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField


class UploadForm(FlaskForm):
    kind = SelectField("The file holds", choices=[])
    file = FileField("CSV file", validators=[FileRequired("Choose a CSV file.")],
                     description="UTF-8 CSV, first row naming the columns; blank cells are left empty.")
