"""Daraja callback routes. The secret path segment is checked first and fails closed."""

import hmac
from functools import wraps

from flask import request
from flask.views import MethodView

from api import request_log
from api.common import surface_blueprint
from api.daraja.errors import SURFACE
from portal.models.base import db
from portal.services import daraja, mpesa
from portal.services.errors import Forbidden, ValidationFailed

callbacks_bp = surface_blueprint(SURFACE, "callbacks", url_prefix="/mpesa/daraja/<secret>",
                                 description="M-Pesa Daraja callbacks (the URL carries a shared secret)")
BLUEPRINTS = [callbacks_bp]
ACCEPTED = {"ResultCode": 0, "ResultDesc": "Accepted"}


def from_daraja(view):
    """Refuse unless the URL's secret matches; hand the view the JSON body."""

    @wraps(view)
    def wrapper(self, secret):
        if not hmac.compare_digest(secret, daraja.callback_secret()):
            raise Forbidden("Unknown callback URL.")
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict):
            raise ValidationFailed({"body": ["Send Daraja's JSON body."]}, "Expected a JSON object.")
        try:
            result = view(self, payload)
        except mpesa.BadCallback as exc:
            raise ValidationFailed({"body": [str(exc)]}, str(exc)) from None
        db.session.commit()
        return result
    return wrapper


@callbacks_bp.route("/stk")
class StkCallbackView(MethodView):
    @from_daraja
    def post(self, payload):
        """STK push result (Body.stkCallback)"""
        mpesa.stk_callback(payload)
        return ACCEPTED


@callbacks_bp.route("/c2b/validation")
class C2bValidationView(MethodView):
    @from_daraja
    def post(self, payload):
        """C2B validation: every paybill payment is accepted (unmatched money waits in suspense)"""
        return ACCEPTED


@callbacks_bp.route("/c2b/confirmation")
class C2bConfirmationView(MethodView):
    @from_daraja
    def post(self, payload):
        """C2B confirmation (TransID, TransAmount, MSISDN, BillRefNumber)"""
        if mpesa.c2b_confirmation(payload).created:
            request_log.leave_out()
        return {"ResultCode": 0, "ResultDesc": "Success"}


@callbacks_bp.route("/b2c/result")
class B2cResultView(MethodView):
    @from_daraja
    def post(self, payload):
        """B2C result (Result.ResultParameters.ResultParameter)"""
        mpesa.b2c_result(payload)
        return ACCEPTED


@callbacks_bp.route("/b2c/timeout")
class B2cTimeoutView(MethodView):
    @from_daraja
    def post(self, payload):
        """B2C queue timeout: the request stays pending until its result or a status query"""
        return ACCEPTED
