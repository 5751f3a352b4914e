"""Users: argon2id password hashes, creation and listing within scope, sign-in and tokens.

Password hashing
    argon2id through argon2-cffi's ``PasswordHasher`` with the parameters set explicitly
    (:data:`HASHER`): RFC 9106 §4's second recommended option, ``t=3`` passes over
    ``m=64 MiB`` with ``p=4`` lanes, 16-byte salt, 32-byte tag. That is also argon2-cffi
    25.1's default profile; pinning it here keeps stored hashes stable if the library's
    default moves. About 90 ms per hash on a 2-core machine. Hashes made with older
    parameters are upgraded on the next successful sign-in (``check_needs_rehash``).

Tokens
    :func:`issue_token` signs ``{"uid": id, "pw": stamp}`` with ``itsdangerous``'s
    ``URLSafeTimedSerializer`` (HMAC-SHA1 over the ``secret_key`` setting, salt
    ``hoso.auth.token``); :func:`principal_from_token` checks the signature and age
    (``token_ttl_seconds``), then loads the user by primary key. ``stamp`` is a digest of the
    password hash, so changing a password revokes the tokens issued before. The same token is
    the API bearer token and the web session cookie ``hoso_session``.

Services never commit. :func:`authenticate` records ``auth:session:login_failed`` and then
raises, so the caller must commit that event before letting the error roll the transaction
back (see the function).
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from functools import cache, lru_cache
from typing import Any

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hoso.audit import service as audit_service
from hoso.auth.models import User
from hoso.auth.principal import ROLES, Principal
from hoso.auth.schemas import PASSWORD_MIN_LENGTH, UserCreate
from hoso.config import get_settings
from hoso.db.base import utcnow
from hoso.errors import Conflict, InvalidInput, Issue, NotAuthenticated, NotFound, PermissionDenied
from hoso.orgs import service as orgs_service

#: argon2id, RFC 9106 §4 second recommended option (see the module docstring).
HASHER = PasswordHasher(
    time_cost=3,
    memory_cost=64 * 1024,  # KiB
    parallelism=4,
    hash_len=32,
    salt_len=16,
    type=Type.ID,
)
TOKEN_SALT = "hoso.auth.token"
SUBJECT_TYPE = "user"
#: Roles only a national administrator may grant.
NATIONAL_ROLES = frozenset({"national_analyst", "national_admin"})


def hash_password(password: str) -> str:
    """An argon2id hash string (``$argon2id$v=19$m=65536,t=3,p=4$…``)."""
    return HASHER.hash(password)


def generate_password() -> str:
    """A random password of 20 URL-safe characters (≈ 120 bits)."""
    return secrets.token_urlsafe(15)


@cache
def _dummy_hash() -> str:
    return HASHER.hash(secrets.token_urlsafe(16))


def _password_stamp(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode("utf-8")).hexdigest()[:16]


def _check_password(password: str, field: str = "password") -> None:
    if len(password) < PASSWORD_MIN_LENGTH:
        raise InvalidInput(
            issues=[
                Issue(
                    field=field,
                    code="password_too_short",
                    message_vi=f"{field}: mật khẩu phải có ít nhất {PASSWORD_MIN_LENGTH} ký tự",
                    message_en=f"{field}: the password needs at least {PASSWORD_MIN_LENGTH} "
                    "characters",
                )
            ]
        )


# --- reading ------------------------------------------------------------------------------


def get_by_username(session: Session, username: str) -> User | None:
    """The user with this sign-in name, or None."""
    return session.execute(select(User).where(User.username == username)).scalar_one_or_none()


def get(session: Session, user_id: int) -> User:
    """The user with this id; NotFound otherwise."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(
            message_vi=f"Không tìm thấy người dùng #{user_id}",
            message_en=f"User #{user_id} not found",
        )
    return user


def list_(session: Session, *, principal: Principal) -> list[User]:
    """Users bound to units in the principal's subtree (``user:read``), by username."""
    principal.require("user:read")
    stmt = select(User).order_by(User.username)
    prefix = orgs_service.principal_prefix(session, principal)
    if prefix is not None:
        stmt = stmt.where(User.org_unit_code.in_(orgs_service.codes_in_subtree_select(prefix)))
    return list(session.execute(stmt).scalars())


# --- writing ------------------------------------------------------------------------------


def _require_user_in_scope(session: Session, principal: Principal, user: User) -> None:
    if not orgs_service.in_scope(session, principal, user.org_unit_code):
        raise PermissionDenied(
            message_vi=f"Người dùng '{user.username}' nằm ngoài phạm vi quản lý của bạn",
            message_en=f"User '{user.username}' is outside your scope",
            code="out_of_scope",
        )


def create(session: Session, user_in: UserCreate, *, principal: Principal) -> User:
    """Create a user (``user:write``) bound to a unit inside the principal's scope.

    The role must be one of ``ROLES``; only a national administrator may grant a national
    role. Audited as ``user:user:create`` (without the password or its hash).
    """
    principal.require("user:write")
    if user_in.role not in ROLES:
        raise InvalidInput(
            issues=[
                Issue(
                    field="role",
                    code="unknown_role",
                    message_vi=f"role: vai trò '{user_in.role}' không tồn tại",
                    message_en=f"role: unknown role '{user_in.role}'",
                    value=user_in.role,
                )
            ]
        )
    if user_in.role in NATIONAL_ROLES and principal.role != "national_admin":
        vi, en = ROLES[user_in.role]
        raise PermissionDenied(
            message_vi=f"Vai trò '{principal.role}' không được cấp vai trò '{user_in.role}' ({vi})",
            message_en=f"Role '{principal.role}' may not grant role '{user_in.role}' ({en})",
        )
    code = user_in.org_unit_code
    if not orgs_service.in_scope(session, principal, code):
        try:
            orgs_service.scope_path(session, code)
        except NotFound:
            raise InvalidInput(
                issues=[
                    Issue(
                        field="org_unit_code",
                        code="unknown_unit",
                        message_vi=f"org_unit_code: không có đơn vị '{code}'",
                        message_en=f"org_unit_code: no unit '{code}'",
                        value=code,
                    )
                ]
            ) from None
        orgs_service.require_in_scope(session, principal, code)
    _check_password(user_in.password)
    if get_by_username(session, user_in.username) is not None:
        raise _username_taken(user_in.username)
    user = User(
        username=user_in.username,
        full_name=user_in.full_name,
        password_hash=hash_password(user_in.password),
        role=user_in.role,
        org_unit_code=code,
        personal_id=user_in.personal_id,
        is_active=True,
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        raise _username_taken(user_in.username) from None
    audit_service.record(
        session,
        actor=principal.username,
        action="user:user:create",
        subject_type=SUBJECT_TYPE,
        subject_id=str(user.id),
        data={"username": user.username, "role": user.role, "org_unit_code": code},
    )
    return user


def _username_taken(username: str) -> Conflict:
    return Conflict(
        message_vi=f"Tên đăng nhập '{username}' đã được dùng",
        message_en=f"Username '{username}' is already taken",
        code="username_taken",
    )


def set_password(session: Session, username: str, password: str, *, principal: Principal) -> User:
    """Replace a user's password (``user:write``, user in scope); revokes their tokens."""
    principal.require("user:write")
    user = get_by_username(session, username)
    if user is None:
        raise NotFound(
            message_vi=f"Không tìm thấy người dùng '{username}'",
            message_en=f"User '{username}' not found",
        )
    _require_user_in_scope(session, principal, user)
    _check_password(password)
    user.password_hash = hash_password(password)
    session.flush()
    audit_service.record(
        session,
        actor=principal.username,
        action="user:user:set_password",
        subject_type=SUBJECT_TYPE,
        subject_id=str(user.id),
        data={"username": user.username},
    )
    return user


# --- signing in ---------------------------------------------------------------------------


def authenticate(session: Session, username: str, password: str) -> User:
    """Check a username and password; return the user or raise NotAuthenticated.

    Unknown users and inactive ones cost one argon2 verification too, so that the failure
    path takes about as long as a wrong password. Success is audited as
    ``auth:session:login`` (and sets ``last_login_at``); failure as
    ``auth:session:login_failed`` — **recorded in the session and then raised**, so the
    caller, which owns the transaction, must commit before re-raising::

        try:
            user = auth_service.authenticate(session, username, password)
        except NotAuthenticated:
            session.commit()  # keep the login_failed audit event
            raise

    The event names the user when one exists; an unknown name is kept only as a digest, so
    that whatever was typed in the username box (sometimes a password) is not stored.
    """
    name = username.strip().lower()
    user = get_by_username(session, name)
    reason: str | None = None
    if user is None or not user.is_active:
        with contextlib.suppress(VerificationError):
            HASHER.verify(_dummy_hash(), password)
        reason = "unknown_user" if user is None else "inactive"
    else:
        try:
            HASHER.verify(user.password_hash, password)
        except VerifyMismatchError:
            reason = "bad_password"
        except (VerificationError, InvalidHashError):
            reason = "unusable_hash"
    if reason is not None:
        data: dict[str, Any] = {"reason": reason}
        if user is None:
            data["username_sha256"] = hashlib.sha256(name.encode("utf-8")).hexdigest()[:16]
        else:
            data["username"] = user.username
        audit_service.record(
            session,
            actor=user.username if user is not None else "anonymous",
            action="auth:session:login_failed",
            subject_type=SUBJECT_TYPE,
            subject_id=str(user.id) if user is not None else None,
            data=data,
        )
        raise NotAuthenticated(
            message_vi="Tên đăng nhập hoặc mật khẩu không đúng",
            message_en="Wrong username or password",
            code="invalid_credentials",
        )
    assert user is not None
    if HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    session.flush()
    audit_service.record(
        session,
        actor=user.username,
        action="auth:session:login",
        subject_type=SUBJECT_TYPE,
        subject_id=str(user.id),
        data={"username": user.username},
    )
    return user


NATIONAL_SCOPE_ROLES = frozenset({"national_admin", "national_analyst"})
"""Roles whose scope is the whole country."""


def principal_for(user: User) -> Principal:
    """The principal of a user: its role, scoped to the subtree of its org unit.

    The national roles (``national_admin``, ``national_analyst``) of the team that runs the
    national database have national scope, whichever unit (usually Bộ Nội vụ) they are
    bound to; every other role is bounded by the subtree of the user's unit.
    """
    scope = None if user.role in NATIONAL_SCOPE_ROLES else user.org_unit_code
    return Principal(username=user.username, role=user.role, scope_code=scope, user_id=user.id)


@lru_cache(maxsize=4)
def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=TOKEN_SALT)


def issue_token(user: User) -> str:
    """A signed, timestamped token naming the user (valid ``token_ttl_seconds``)."""
    serializer = _serializer(get_settings().secret_key)
    return str(serializer.dumps({"uid": user.id, "pw": _password_stamp(user.password_hash)}))


def principal_from_token(session: Session, token: str) -> Principal:
    """The principal a token stands for; NotAuthenticated when bad, expired or revoked.

    Cost: one HMAC check and one primary-key lookup of the user.
    """
    settings = get_settings()
    try:
        payload = _serializer(settings.secret_key).loads(token, max_age=settings.token_ttl_seconds)
    except SignatureExpired:
        raise NotAuthenticated(
            message_vi="Phiên đăng nhập đã hết hạn",
            message_en="The session has expired",
            code="token_expired",
        ) from None
    except BadData:
        raise NotAuthenticated(
            message_vi="Mã đăng nhập không hợp lệ",
            message_en="Invalid sign-in token",
            code="invalid_token",
        ) from None
    uid = payload.get("uid") if isinstance(payload, dict) else None
    if not isinstance(uid, int) or isinstance(uid, bool):
        raise NotAuthenticated(code="invalid_token")
    user = session.get(User, uid)
    if (
        user is None
        or not user.is_active
        or payload.get("pw") != _password_stamp(user.password_hash)
    ):
        raise NotAuthenticated(
            message_vi="Phiên đăng nhập không còn hiệu lực",
            message_en="The session is no longer valid",
            code="token_revoked",
        )
    return principal_for(user)
