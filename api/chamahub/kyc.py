"""002 ChamaHub KYC routes: /api/v1/kyc/kycdocuments/, /biometric-datas/, /verification-workflows/."""

from flask import request
from flask.views import MethodView

from api.chamahub import schemas
from api.chamahub.errors import SURFACE
from api.chamahub.pagination import ListArgsSchema, envelope
from api.common import auth_required, current_user, document_size_cap, surface_blueprint
from portal.files import download
from portal.models import DocumentKind, KycSubmissionStatus, Role
from portal.models.base import db
from portal.services import customers, documents, kyc
from portal.services.errors import ValidationFailed

documents_bp = surface_blueprint(SURFACE, "kyc_documents", url_prefix="/api/v1/kyc/kycdocuments",
                                 description="002 ChamaHub: KYC documents")
biometrics_bp = surface_blueprint(SURFACE, "kyc_biometrics", url_prefix="/api/v1/kyc/biometric-datas",
                                  description="002 ChamaHub: biometric data (face photos)")
workflows_bp = surface_blueprint(SURFACE, "kyc_workflows", url_prefix="/api/v1/kyc/verification-workflows",
                                 description="002 ChamaHub: KYC verification workflows")
BLUEPRINTS = [documents_bp, biometrics_bp, workflows_bp]


@documents_bp.route("/")
class KycDocumentsView(MethodView):
    decorators = [auth_required(), document_size_cap]

    @documents_bp.arguments(ListArgsSchema, location="query")
    @documents_bp.response(200, schemas.KycDocumentPageSchema)
    def get(self, args):
        """List KYC documents (a member: their own; staff: their customers'); search by number, file or customer"""
        return envelope(kyc.document_listing(actor=current_user(), search=args["search"], ordering=args["ordering"],
                                             page=args["page"], per_page=args["page_size"]))

    @documents_bp.arguments(schemas.KycDocumentUploadSchema, location="form", content_type="multipart/form-data")
    @documents_bp.response(201, schemas.KycDocumentSchema)
    def post(self, form):
        """Upload a KYC document (multipart); it joins the customer's pending verification, opening one"""
        actor = current_user()
        if actor.role == Role.BORROWER:
            customer = customers.for_user(actor)
        elif form["customer"] is None:
            raise ValidationFailed({"customer": ["Staff upload for a customer: give the customer's id."]})
        else:
            customer = customers.get_visible(form["customer"], actor=actor)
        file = request.files.get("document_file")
        document = kyc.upload(customer, doc_type=form["doc_type"], filename=file.filename if file else None,
                              content=file.stream if file else None, document_number=form["document_number"],
                              issue_date=form["issue_date"], expiry_date=form["expiry_date"], actor=actor,
                              submit_now=True)
        db.session.commit()
        return document


@documents_bp.route("/<int:document_id>/file/", endpoint="file")
class KycDocumentFileView(MethodView):
    decorators = [auth_required()]

    @documents_bp.response(200, content_type="application/octet-stream")
    def get(self, document_id):
        """The document's file, for whoever may see its customer (its real type, never sniffed by the browser)"""
        document, data = documents.read(None, document_id, actor=current_user())
        return download(data, document.content_type, document.filename)


@biometrics_bp.route("/")
class BiometricDataView(MethodView):
    decorators = [auth_required()]

    @biometrics_bp.arguments(ListArgsSchema, location="query")
    @biometrics_bp.response(200, schemas.BiometricDataPageSchema)
    def get(self, args):
        """List biometric data: the face photos (selfies) sent for KYC"""
        ordering = {"captured_at": "created_at", "-captured_at": "-created_at"}.get(args["ordering"],
                                                                                    args["ordering"])
        return envelope(kyc.document_listing(actor=current_user(), kinds=[DocumentKind.SELFIE],
                                             search=args["search"], ordering=ordering, page=args["page"],
                                             per_page=args["page_size"]))


@workflows_bp.route("/")
class VerificationWorkflowsView(MethodView):
    decorators = [auth_required()]

    @workflows_bp.arguments(schemas.VerificationWorkflowQueryArgsSchema, location="query")
    @workflows_bp.response(200, schemas.VerificationWorkflowPageSchema)
    def get(self, args):
        """Verification status: the KYC submissions and their decisions (filter by status)"""
        status = KycSubmissionStatus(args["status"].lower()) if args["status"] else None
        return envelope(kyc.submission_listing(actor=current_user(), status=status, search=args["search"],
                                               ordering=args["ordering"], page=args["page"],
                                               per_page=args["page_size"]))
