"""Staff accounts: roles, password hashes, API tokens.

Roles (DESIGN.md): agents triage the queue, leads also reassign, import and watch the
dashboard, finance reads orders and the dashboard, admins do everything.  Passwords are
hashed with werkzeug's scrypt; API tokens are random and stored only as a SHA-256 hash.
"""
from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import Connection, insert, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from tracker import audit
from tracker.models import User

ROLES = ("agent", "lead", "finance", "admin")
ROLE_NAMES = {"agent": "客服", "lead": "客服主管", "finance": "财务", "admin": "管理员"}
MIN_PASSWORD = 8
USERS = User.__table__


class UserError(ValueError):
    pass


def add(conn: Connection, username: str, role: str, password: str, *, display_name: str | None = None,
        actor: str = "cli") -> int:
    username = username.strip()
    if not username:
        raise UserError("用户名不能为空 · the user name is empty")
    if role not in ROLES:
        raise UserError(f"未知角色 unknown role {role!r}; known: {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"密码至少 {MIN_PASSWORD} 位 · the password needs at least {MIN_PASSWORD} characters")
    if conn.execute(select(USERS.c.id).where(USERS.c.username == username)).first():
        raise UserError(f"用户已存在 · user {username!r} exists")
    user_id = conn.execute(insert(USERS).values(
        username=username, display_name=display_name or username, role=role,
        password_hash=generate_password_hash(password), active=True)).inserted_primary_key[0]
    audit.record(conn, actor=actor, action="user.add", entity="user", entity_id=user_id,
                 detail={"username": username, "role": role})
    return user_id


def authenticate(conn: Connection, username: str, password: str):
    """The active user row whose password matches, else None (same cost either way)."""
    row = conn.execute(select(USERS).where(USERS.c.username == username.strip())).first()
    stored = row.password_hash if row is not None else _DUMMY_HASH
    ok = check_password_hash(stored, password)
    return row if ok and row is not None and row.active else None


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(conn: Connection, username: str, *, actor: str = "cli") -> str:
    """A new API token for the user (replacing any earlier one); shown once, stored hashed."""
    row = conn.execute(select(USERS.c.id).where(USERS.c.username == username)).first()
    if row is None:
        raise UserError(f"没有此用户 · no user {username!r}")
    token = "trk_" + secrets.token_urlsafe(32)
    conn.execute(update(USERS).where(USERS.c.id == row.id).values(api_token_hash=token_digest(token)))
    audit.record(conn, actor=actor, action="user.token", entity="user", entity_id=row.id)
    return token


def by_token(conn: Connection, token: str):
    row = conn.execute(select(USERS).where(USERS.c.api_token_hash == token_digest(token))).first()
    return row if row is not None and row.active else None


_DUMMY_HASH = generate_password_hash("timing-equaliser")
