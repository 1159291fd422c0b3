"""Bearer-token authentication from a kube-apiserver ``--token-auth-file``.

The file format and the header rules are kube-apiserver's (``authenticator/token/tokenfile`` and
``authentication/request/bearertoken``), so an existing token file and kubeconfig work
unchanged. Every user is in the group ``system:authenticated`` too, as kube-apiserver puts them.
"""

from __future__ import annotations

import csv
import hashlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

MIN_COLUMNS = 3  # token, user name, uid; groups optional
AUTHENTICATED = "system:authenticated"


@dataclass(frozen=True, slots=True)
class User:
    """Who a request authenticated as (apiserver ``user.Info`` without extras)."""

    name: str
    uid: str
    groups: tuple[str, ...] = ()


def bearer_token(authorization: str | None) -> str | None:
    """The token in an ``Authorization`` header, or None, exactly as kube-apiserver reads it.

    The header is trimmed and split on single spaces into at most three parts; the scheme must
    be ``bearer`` in any case and the second part is the token. So ``Bearer`` alone, ``Bearer
    <two spaces>tok`` (empty second part), other schemes and bare tokens give None, while
    anything after the token and a further space is ignored.
    """
    parts = (authorization or "").strip().split(" ", 2)
    if len(parts) < 2 or parts[0].lower() != "bearer":
        return None
    return parts[1] or None


def _digest(token: str) -> bytes:
    # Lookups go by digest, so the time a lookup takes says nothing about stored tokens.
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True, slots=True, eq=False)
class TokenFile:
    """The users of a token file, keyed by the SHA-256 of their tokens."""

    users: dict[bytes, User] = field(repr=False)
    first_token: str | None = field(default=None, repr=False)  # for a generated kubeconfig

    @classmethod
    def load(cls, path: Path) -> TokenFile:
        """Parse ``path``; ``ValueError`` names the file and line of the first bad record."""
        with open(path, encoding="utf-8-sig", newline="") as f:
            return cls.parse(f.read().splitlines(keepends=True), source=str(path))

    @classmethod
    def parse(cls, lines: Iterable[str], source: str = "<token file>") -> TokenFile:
        """Parse CSV lines: ``token,user,uid[,"group1,group2"]``, blank lines ignored.

        As in kube-apiserver, a record with an empty token is skipped (with a warning) and a
        repeated token keeps its last user.
        """
        users: dict[bytes, User] = {}
        first: str | None = None
        for where, row in _records(lines, source):
            token, user = _record(row, where)
            if token and _digest(token) in users:
                logger.warning("%s: duplicate token, the last user listed wins", where)
            if token:
                users[_digest(token)] = user
                first = first or token
        return cls(users, first)

    def authenticate(self, authorization: str | None) -> User | None:
        """The user for an ``Authorization`` header value, or None (the caller answers 401)."""
        token = bearer_token(authorization)
        return None if token is None else self.users.get(_digest(token))

    def __len__(self) -> int:
        return len(self.users)


def _records(lines: Iterable[str], source: str) -> Iterator[tuple[str, list[str]]]:
    """Non-blank CSV records with ``file:line`` of the line each starts on (quoted fields may
    span lines)."""
    reader = csv.reader(lines, strict=True)
    while True:
        where = f"{source}:{reader.line_num + 1}"
        try:
            row = next(reader, None)
        except csv.Error as exc:
            raise ValueError(f"{where}: malformed CSV: {exc}") from exc
        if row is None:
            return
        if "".join(row).strip():
            yield where, row


def _record(row: list[str], where: str) -> tuple[str, User]:
    if len(row) < MIN_COLUMNS:
        raise ValueError(
            f"{where}: a token file line needs at least {MIN_COLUMNS} columns "
            f"(token, user name, user uid), found {len(row)}"
        )
    token, name, uid = row[0], row[1], row[2]
    if not token:
        logger.warning("%s: empty token, line ignored", where)
    # Go's strings.Split would keep "" and surrounding blanks as group names; they never help.
    groups = tuple(g.strip() for g in row[3].split(",") if g.strip()) if len(row) > 3 else ()
    if AUTHENTICATED not in groups:  # as kube-apiserver adds it to every authenticated user
        groups += (AUTHENTICATED,)
    return token, User(name=name, uid=uid, groups=groups)
