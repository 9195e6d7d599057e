"""003 RepaySync bulk CSV uploads (5.4 customers, 7.3 interactions): thin views over portal.services.bulk_upload."""

from functools import wraps

from flask import request
from flask.views import MethodView
from flask_smorest.fields import Upload
from marshmallow import fields

from api.common import BaseSchema, auth_required, current_user, surface_blueprint
from api.repaysync.errors import SURFACE
from portal.models.base import db
from portal.services import bulk_upload
from portal.services.bulk_upload import Kind

bulk_bp = surface_blueprint(SURFACE, "bulk", url_prefix="/api",
                            description="003 RepaySync: bulk CSV uploads (valid rows are created, invalid rows "
                                        "reported by row number, 1 being the first row under the header)")
BLUEPRINTS = [bulk_bp]


class UploadSchema(BaseSchema):
    file = Upload(metadata={"description": "A UTF-8 CSV file whose first row names the columns"})


class RowErrorSchema(BaseSchema):
    row = fields.Integer()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class UploadResultSchema(BaseSchema):
    records_created = fields.Integer()
    errors = fields.List(fields.Nested(RowErrorSchema))


def refuse_oversized(view):
    """Answer an oversized body from its Content-Length, before the multipart body is read."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        bulk_upload.check_size(request.content_length)
        return view(*args, **kwargs)
    return wrapper


def _upload_view(kind: Kind) -> type[MethodView]:
    class UploadView(MethodView):
        decorators = [refuse_oversized, auth_required()]

        @bulk_bp.arguments(UploadSchema, location="files")
        @bulk_bp.response(201, UploadResultSchema)
        def post(self, files):
            result = bulk_upload.upload(files.get("file"), kind, actor=current_user())
            db.session.commit()
            return result

    UploadView.post.__doc__ = (
        f"Create {kind.value} from a CSV file (multipart field `file`); valid rows are created, invalid rows "
        f"reported\n\nColumns: {', '.join(bulk_upload.COLUMNS[kind])} (required: "
        f"{', '.join(bulk_upload.REQUIRED_COLUMNS[kind])}). Blank cells are empty; dates are YYYY-MM-DD.")
    return UploadView


bulk_bp.route("/customers/bulk/upload/", endpoint="customers_upload")(_upload_view(Kind.CUSTOMERS))
bulk_bp.route("/interactions/bulk/upload/", endpoint="interactions_upload")(_upload_view(Kind.INTERACTIONS))
