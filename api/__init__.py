"""The JSON API: one package per documented surface, registered side by side."""

from flask import Flask
from flask_smorest import Api

from api import tokens
from api.chamahub import kyc as chamahub_kyc
from api.chamahub import routes as chamahub
from api.chamahub.errors import SURFACE as CHAMAHUB
from api.daraja import routes as daraja
from api.errors import register_blueprint_surface, register_prefix
from api.microfinance import routes as microfinance
from api.repaysync import bulk as repaysync_bulk
from api.repaysync import routes as repaysync
from api.repaysync.errors import SURFACE as REPAYSYNC
from api.request_log import init_request_log
from api.sokocredit import lending as sokocredit_lending
from api.sokocredit import notifications as sokocredit_notifications
from api.sokocredit import routes as sokocredit
from api.vault5 import admin as vault5_admin
from api.vault5 import routes as vault5
from api.vault5.errors import SURFACE as VAULT5

SURFACES = [microfinance, sokocredit, sokocredit_lending, sokocredit_notifications, chamahub, chamahub_kyc,
            repaysync, repaysync_bulk, vault5, vault5_admin, daraja]


def register_api(app: Flask, api: Api) -> None:
    for surface in SURFACES:
        for blueprint in surface.BLUEPRINTS:
            api.register_blueprint(blueprint)
    register_blueprint_surface("api-docs", CHAMAHUB)  # /api/docs/, /api/redoc/, /api/schema/ are 002's paths
    # Requests that match no route still get an API-shaped 404 where the path is clearly an API's.
    register_prefix("/api/v1/", CHAMAHUB)
    register_prefix("/v1/", VAULT5)
    register_prefix("/api/", REPAYSYNC)
    tokens.init_jwt()
    init_request_log(app)
