"""Token-file authentication follows kube-apiserver's file format and header rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from watchcache.process.tokens import TokenFile, User, bearer_token

AUTHENTICATED = "system:authenticated"  # kube-apiserver puts every authenticated user in it
ALICE = User(name="alice", uid="u-1", groups=("system:masters", "dev", AUTHENTICATED))
BOB = User(name="bob", uid="u-2", groups=(AUTHENTICATED,))

TOKEN_CSV = """\
s3cret-a,alice,u-1,"system:masters,dev"

s3cret-b,bob,u-2
"""


@pytest.fixture
def tokens() -> TokenFile:
    return TokenFile.parse(TOKEN_CSV.splitlines(keepends=True))


# objects-and-errors.md §4 notes, and apiserver bearertoken.go for the edge cases.
HEADERS = [
    ("Bearer s3cret-a", ALICE),
    ("bearer s3cret-a", ALICE),  # scheme compared case-insensitively
    ("BEARER s3cret-b", BOB),
    ("BeArEr s3cret-b", BOB),
    ("  Bearer s3cret-a  ", ALICE),  # header value is trimmed first
    ("Bearer s3cret-a trailing", ALICE),  # split into at most 3 parts; the third is ignored
    (None, None),  # no header
    ("", None),
    ("Bearer", None),  # no token
    ("Bearer ", None),  # trimmed to "Bearer"
    ("Bearer  s3cret-a", None),  # two spaces: the token part is empty
    ("Bearer\ts3cret-a", None),  # only a space separates scheme and token
    ("Basic YWxpY2U6cHc=", None),  # another scheme
    ("Token s3cret-a", None),
    ("Bearers3cret-a", None),
    ("s3cret-a", None),  # bare token without scheme
    ("Bearer unknown", None),  # unknown token
    ("Bearer S3CRET-A", None),  # tokens are case-sensitive
    ("Bearer s3cret", None),  # a prefix of a token is not the token
]


@pytest.mark.parametrize(("header", "user"), HEADERS, ids=[repr(h) for h, _ in HEADERS])
def test_authorization_header_forms(tokens: TokenFile, header: str | None, user: User | None) -> None:
    assert tokens.authenticate(header) == user


def test_bearer_token_extracts_only_the_second_space_separated_part() -> None:
    assert bearer_token("Bearer abc def") == "abc"
    assert bearer_token("Bearer  abc") is None


def test_quoted_groups_column_is_split_on_commas(tokens: TokenFile) -> None:
    assert tokens.authenticate("Bearer s3cret-a") == ALICE


def test_blank_and_whitespace_lines_are_ignored() -> None:
    parsed = TokenFile.parse(["\n", "t,u,1\n", "   \n", "\n"])
    assert len(parsed) == 1


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("t,u,1\nonly-two,columns\n", 2),
        ("\n\nlonely\n", 3),
        ('t,u,1\nt2,u2,"unterminated\nmore\n', 2),  # names the line the record starts on
    ],
    ids=["two-columns", "one-column-after-blanks", "unterminated-quote"],
)
def test_bad_line_is_a_value_error_naming_its_line_number(text: str, line: int) -> None:
    with pytest.raises(ValueError, match=rf"tokens\.csv:{line}: "):
        TokenFile.parse(text.splitlines(keepends=True), source="tokens.csv")


def test_record_with_empty_token_is_skipped_like_kube_apiserver() -> None:
    parsed = TokenFile.parse([",nobody,0\n", "t,u,1\n"])
    assert len(parsed) == 1 and parsed.first_token == "t"
    assert parsed.authenticate("Bearer ") is None


def test_repeated_token_keeps_the_last_user() -> None:
    parsed = TokenFile.parse(["t,first,1\n", "t,second,2\n"])
    assert parsed.authenticate("Bearer t") == User("second", "2", (AUTHENTICATED,))


def test_extra_columns_after_groups_are_ignored() -> None:
    parsed = TokenFile.parse(['t,u,1,"a, b,,",extra\n'])
    assert parsed.authenticate("Bearer t") == User("u", "1", ("a", "b", AUTHENTICATED))


def test_load_reads_a_file_and_remembers_the_first_token(tmp_path: Path) -> None:
    path = tmp_path / "tokens.csv"
    path.write_text("\ufeff" + TOKEN_CSV, encoding="utf-8")  # a BOM from Windows editors
    loaded = TokenFile.load(path)
    assert loaded.first_token == "s3cret-a"
    assert loaded.authenticate("Bearer s3cret-b") == BOB


def test_load_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "tokens.csv"
    path.write_text("a,b\n", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"{path}:1: .*at least 3 columns"):
        TokenFile.load(path)


def test_tokens_are_not_kept_as_lookup_keys_nor_shown_in_repr(tokens: TokenFile) -> None:
    assert all(isinstance(key, bytes) and b"s3cret" not in key for key in tokens.users)
    assert "s3cret" not in repr(tokens)
