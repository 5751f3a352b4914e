"""Who is acting: the principal every service call receives, and what each role may do."""

from __future__ import annotations

from dataclasses import dataclass

from hoso.errors import PermissionDenied

ROLES: dict[str, tuple[str, str]] = {
    "hr_officer": ("Cán bộ tổ chức cán bộ", "HR officer"),
    "approver": ("Người có thẩm quyền phê duyệt", "Approving official"),
    "agency_admin": ("Quản trị hệ thống của cơ quan", "Agency administrator"),
    "national_analyst": ("Chuyên viên phân tích CSDLQG", "National analyst"),
    "national_admin": ("Quản trị CSDLQG", "National administrator"),
    "auditor": ("Kiểm toán, thanh tra", "Auditor"),
}

#: What each role may do. Scope (the org subtree) is checked separately.
PERMISSIONS: dict[str, frozenset[str]] = {
    "hr_officer": frozenset(
        {
            "person:read",
            "person:write",
            "org:read",
            "quality:read",
            "quality:review",
            "population:read",
            "population:review",
        }
    ),
    "approver": frozenset(
        {"person:read", "person:approve", "org:read", "quality:read", "population:read"}
    ),
    "agency_admin": frozenset(
        {
            "person:read",
            "person:write",
            "org:read",
            "org:write",
            "user:read",
            "user:write",
            "quality:read",
            "quality:run",
            "quality:review",
            "population:read",
            "population:run",
            "population:review",
        }
    ),
    "national_analyst": frozenset(
        {"person:read", "org:read", "stats:read", "quality:read", "population:read"}
    ),
    "national_admin": frozenset(
        {
            "person:read",
            "person:write",
            "person:approve",
            "org:read",
            "org:write",
            "user:read",
            "user:write",
            "audit:read",
            "stats:read",
            "quality:read",
            "quality:run",
            "quality:review",
            "population:read",
            "population:run",
            "population:review",
        }
    ),
    "auditor": frozenset({"person:read", "org:read", "audit:read", "user:read", "quality:read"}),
}

PERMISSION_LABELS: dict[str, tuple[str, str]] = {
    "person:read": ("xem hồ sơ", "read dossiers"),
    "person:write": ("cập nhật hồ sơ", "change dossiers"),
    "person:approve": ("phê duyệt hồ sơ", "approve dossiers"),
    "org:read": ("xem cơ cấu tổ chức", "read the organisation tree"),
    "org:write": ("cập nhật cơ cấu tổ chức", "change the organisation tree"),
    "user:read": ("xem người dùng", "read users"),
    "user:write": ("quản lý người dùng", "manage users"),
    "audit:read": ("xem nhật ký", "read the audit trail"),
    "stats:read": ("xem thống kê", "read statistics"),
    "quality:read": ("xem chất lượng dữ liệu", "read data quality"),
    "quality:run": ("chạy kiểm tra chất lượng", "run quality checks"),
    "quality:review": ("duyệt đề xuất làm sạch", "review cleaning proposals"),
    "population:read": ("xem kết quả đối chiếu dân cư", "read population-registry results"),
    "population:run": ("chạy đối chiếu CSDLQG về dân cư", "run population-registry matching"),
    "population:review": ("duyệt kết quả đối chiếu dân cư", "review population-registry results"),
}


@dataclass(frozen=True, slots=True)
class Principal:
    """The acting user: name, role and the org unit whose subtree bounds everything they touch.

    ``scope_code`` None means national scope (the local operator of the CLI, national roles
    bound to the root).
    """

    username: str
    role: str
    scope_code: str | None
    user_id: int | None = None

    def can(self, permission: str) -> bool:
        """True when the role grants ``permission``."""
        return permission in PERMISSIONS.get(self.role, frozenset())

    def require(self, permission: str) -> None:
        """Raise PermissionDenied unless the role grants ``permission``."""
        if not self.can(permission):
            vi, en = PERMISSION_LABELS.get(permission, (permission, permission))
            raise PermissionDenied(
                message_vi=f"Vai trò '{self.role}' không được phép {vi}",
                message_en=f"Role '{self.role}' may not {en}",
            )


def operator(scope_code: str | None = None) -> Principal:
    """The local CLI operator: national scope unless ``--agency`` narrows it."""
    return Principal(username="operator", role="national_admin", scope_code=scope_code)
