"""001 SokoCredit notifications: /api/users/notifications/ (list, mark read, delete, create-test).

Each caller reaches only their own notifications; another user's answers 404. The same notifications
are pushed over Socket.IO (portal.realtime: namespace /notifications, event notification:<user_id>)
with the fields NotificationSchema lists here.
"""

from flask.views import MethodView
from marshmallow import RAISE, fields, validate

from api.common import BaseSchema, auth_required, current_user, surface_blueprint
from api.errors import register_prefix
from api.sokocredit import schemas
from api.sokocredit.errors import SURFACE
from portal.models.base import db
from portal.services import notifications

PREFIX = "/api/users/notifications"
notifications_bp = surface_blueprint(SURFACE, "notifications", url_prefix=PREFIX,
                                     description="001 SokoCredit: notifications")
BLUEPRINTS = [notifications_bp]
register_prefix(f"{PREFIX}/", SURFACE)  # a path under it that no route matches still answers in 001's shape


class NotificationSchema(BaseSchema):
    id = fields.Integer()
    user_id = fields.Integer()
    type = fields.String(attribute="kind", metadata={"description": "what it is about, e.g. loan_approved, test"})
    title = fields.String()
    message = fields.String()
    is_read = fields.Function(lambda note: note.read_at is not None)
    read_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class NotificationQueryArgsSchema(BaseSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    unread = fields.Boolean(load_default=False, metadata={"description": "true: only unread notifications"})


class NotificationListSchema(BaseSchema):
    notifications = fields.List(fields.Nested(NotificationSchema))
    total = fields.Integer()
    page = fields.Integer()
    pages = fields.Integer()
    unread_count = fields.Integer()


class NotificationMessageSchema(BaseSchema):
    message = fields.String()
    notification = fields.Nested(NotificationSchema)


class CreateTestSchema(BaseSchema):
    title = fields.String(metadata={"description": "default: Test notification"})
    message = fields.String(metadata={"description": "default: a short test text"})


@notifications_bp.route("/")
class NotificationsView(MethodView):
    decorators = [auth_required()]

    @notifications_bp.arguments(NotificationQueryArgsSchema, location="query", unknown=RAISE)
    @notifications_bp.response(200, NotificationListSchema)
    def get(self, args):
        """The caller's notifications, newest first (unread=true: only unread ones)"""
        page = notifications.listing(actor=current_user(), page=args["page"], per_page=args["per_page"],
                                     unread_only=args["unread"])
        return {"notifications": page.items, "total": page.total, "page": page.page, "pages": page.pages,
                "unread_count": page.unread}


@notifications_bp.route("/<int:notification_id>/read")
class NotificationReadView(MethodView):
    decorators = [auth_required()]

    @notifications_bp.response(200, NotificationMessageSchema)
    def put(self, notification_id):
        """Mark one of the caller's notifications as read"""
        note = notifications.get_own(notification_id, actor=current_user())
        notifications.mark_read(note, actor=current_user())
        db.session.commit()
        return {"message": "Notification marked as read.", "notification": note}


@notifications_bp.route("/<int:notification_id>")
class NotificationByIdView(MethodView):
    decorators = [auth_required()]

    @notifications_bp.response(200, schemas.MessageSchema)
    def delete(self, notification_id):
        """Delete one of the caller's notifications"""
        note = notifications.get_own(notification_id, actor=current_user())
        notifications.delete_own(note, actor=current_user())
        db.session.commit()
        return {"message": "Notification deleted."}


@notifications_bp.route("/create-test")
class CreateTestView(MethodView):
    decorators = [auth_required()]

    @notifications_bp.arguments(CreateTestSchema)
    @notifications_bp.response(201, NotificationMessageSchema)
    def post(self, body):
        """Send the caller a test notification, pushed over Socket.IO too (not in production)"""
        note = notifications.create_test(actor=current_user(), title=body.get("title"), message=body.get("message"))
        db.session.commit()
        return {"message": "Test notification created.", "notification": note}
