"""``GET /users`` and ``GET /users/{userId}``."""

from __future__ import annotations

from etl.simulator.model import User
from etl.simulator.rest.common import Request, envelope, iso, user
from etl.simulator.rest.errors import ApiError

STATUSES = ("active", "inactive", "pending")
ROLE_NAMES = {"0": "Owner", "1": "Admin", "2": "Member"}


def user_item(u: User) -> dict[str, object]:
    """A ``GET /users`` list item, fields as Zoom names them."""
    item: dict[str, object] = {
        "id": u.id,
        "first_name": u.first_name,
        "last_name": u.last_name,
        "display_name": u.display_name,
        "email": u.email,
        "type": u.type,
        "pmi": u.pmi,
        "timezone": u.timezone,
        "verified": u.verified,
        "dept": u.dept,
        "user_created_at": iso(u.user_created_at),
        "created_at": iso(u.user_created_at),
    }
    if u.last_login_time is not None:
        item["last_login_time"] = iso(u.last_login_time)
    if u.last_client_version:
        item["last_client_version"] = u.last_client_version
    item["status"] = u.status
    item["role_id"] = u.role_id
    item["employee_unique_id"] = u.employee_unique_id
    return item


def list_users(req: Request) -> tuple[int, dict]:
    status = req.query.get("status", "") or "active"
    if status not in STATUSES:
        raise ApiError(400, 300, f"Invalid field: status {status!r}; expected one of {', '.join(STATUSES)}.")
    page = req.page(req.account.users(req.now, status))
    items = [user_item(u) for u in page.items]
    for item in items:
        # OpenAPI: the id is not returned "for users with the pending status".
        if item["status"] == "pending":
            del item["id"]
    return 200, envelope(page, "users", items, legacy=True)


def get_user(req: Request) -> tuple[int, dict]:
    u = user(req)
    failure = req.pending_lookup(u.email) if u.status == "pending" and "@" in req.params["userId"] else 0
    if failure == 1001:
        raise ApiError(404, 1001, f"User {req.params['userId']} not exist or not belong to this account.")
    if failure == 1120:
        raise ApiError(400, 1120, "Invite expired. The invitation for this user has expired.")
    item = user_item(u)
    body: dict[str, object] = {
        **item,
        "role_name": ROLE_NAMES.get(u.role_id, "Member"),
        "use_pmi": False,
        "personal_meeting_url": f"https://zoom.us/j/{u.pmi}",
        "language": u.language,
        "account_id": req.account.account_id,
        "group_ids": [],
        "im_group_ids": [],
        "login_types": [1],
        "cluster": "us01",
    }
    if u.status == "pending":  # OpenAPI: a pending user's created_at is the time of the call
        body["created_at"] = iso(req.now)
    return 200, body
