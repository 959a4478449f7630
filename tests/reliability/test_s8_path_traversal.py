"""RELIABILITY.md S8: a caller-supplied path never leads outside its allowlisted root.

:func:`memoryd.paths.resolve_within` runs over a real tree: files and folders
inside the root, a secret file beside it, and symlinks of every kind
(relative and absolute inside the root, escaping to the parent, ``../..``
from a subfolder, dangling, looping). Hypothesis generates
``MEMORYD_S8_EXAMPLES`` paths (default 2,000; the row's figure is 100,000)
from traversal pieces (``..``, ``%2e%2e``, ``%252e``, ``\\``, NUL, absolute
prefixes, fullwidth dots) and from arbitrary text. For each: the answer is a
real path strictly inside the root's real path, or ``InvalidPath`` /
``PathOutsideRoot`` (nothing else is raised); every answer that is a file is
read, and each read must be of a file inside the root (0 reads outside).
The CLI side of S8 (import, export, config, data dir) is
``tests/cli/test_cli_paths.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memoryd.errors import InvalidPath, PathOutsideRoot
from memoryd.paths import MAX_NAME_BYTES, resolve_within

from ._support import env_int

EXAMPLES = env_int("MEMORYD_S8_EXAMPLES", 2_000)
#: ~3 ms an example on 2 busy cores; the 100,000-example run needs its own budget.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(max(300, EXAMPLES // 50))]
INSIDE = "inside the root"
OUTSIDE = "outside the root: must never be read"

PIECES = [
    "..", ".", "", "a", "b", "f", "in", "abs_in", "esc", "esc_abs", "esc_rel", "dangling",
    "loop1", "new", "%2e%2e", "%2E%2E", "%2e.", ".%2e", "%252e%252e", "%2f", "%2F", "%5c",
    "..%2f..", "..\\..", "\\", "/", "\x00", "%00", "~", "~root", "C:", "C:\\", "//", "...",
    "\uff0e\uff0e", "\u2024\u2024", "secret", "..;", "a" * (MAX_NAME_BYTES + 1),
]  # fmt: skip


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``(root, real root)``: files inside, a secret beside it, and every kind of symlink."""
    base = tmp_path_factory.mktemp("s8")
    root = base / "root"
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "f").write_text(INSIDE)
    (root / "a" / "b" / "f").write_text(INSIDE)
    (base / "secret").write_text(OUTSIDE)
    os.symlink("a", root / "in")
    os.symlink(root / "a", root / "abs_in")
    os.symlink("..", root / "esc")
    os.symlink(base, root / "esc_abs")
    os.symlink("../..", root / "a" / "esc_rel")
    os.symlink("../secret", root / "secret_link")
    os.symlink("/nonexistent/s8", root / "dangling")
    os.symlink("loop2", root / "loop1")
    os.symlink("loop1", root / "loop2")
    return root, Path(os.path.realpath(root))


def _check(root: Path, real_root: Path, user_path: str, from_url: bool) -> str:
    """Resolve one path; returns ``ok``, an error code, and asserts confinement."""
    try:
        result = resolve_within(root, user_path, from_url=from_url)
    except InvalidPath as exc:  # PathOutsideRoot included
        assert exc.code in ("invalid_path", "path_outside_root")
        return exc.code
    real = Path(os.path.realpath(result))
    assert real == result, (user_path, result)
    assert real_root in real.parents, (user_path, result)
    if result.is_file():
        assert result.read_text() == INSIDE, (user_path, result)
    return "ok"


_structured = st.lists(st.sampled_from(PIECES), max_size=10).flatmap(
    lambda parts: st.sampled_from(["/", "\\", "/./", "//"]).map(lambda sep: sep.join(parts))
)
_paths = st.one_of(
    _structured, st.text(max_size=300), st.text(alphabet="./\\%2eE5cf\x00a", max_size=40)
)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(user_path=_paths, from_url=st.booleans())
def test_s8_generated_paths_stay_inside_the_root(
    tree: tuple[Path, Path], user_path: str, from_url: bool
) -> None:
    root, real_root = tree
    _check(root, real_root, user_path, from_url)


@pytest.mark.parametrize(
    ("user_path", "from_url", "code", "reason"),
    [
        ("../secret", False, "path_outside_root", "dot_dot"),
        ("a/../../secret", False, "path_outside_root", "dot_dot"),
        ("..\\secret", False, "path_outside_root", "dot_dot"),
        ("%2e%2e/secret", True, "path_outside_root", "dot_dot"),
        ("%2E%2E%2Fsecret", True, "path_outside_root", "dot_dot"),
        ("..%5csecret", True, "path_outside_root", "dot_dot"),
        ("%252e%252e/secret", True, "invalid_path", "encoded_traversal"),
        ("/etc/passwd", False, "invalid_path", "absolute"),
        ("%2fetc%2fpasswd", True, "invalid_path", "absolute"),
        ("C:\\Windows", False, "invalid_path", "absolute"),
        ("\\\\server\\share", False, "invalid_path", "absolute"),
        ("a/f\x00.txt", False, "invalid_path", "nul_byte"),
        ("a/f%00.txt", True, "invalid_path", "nul_byte"),
        ("%ff", True, "invalid_path", "not_encodable"),
        ("esc/secret", False, "path_outside_root", "symlink_escape"),
        ("esc_abs/secret", False, "path_outside_root", "symlink_escape"),
        ("a/esc_rel/secret", False, "path_outside_root", "symlink_escape"),
        ("secret_link", False, "path_outside_root", "symlink_escape"),
        ("dangling", False, "path_outside_root", "symlink_escape"),
        ("loop1", False, "invalid_path", "symlink_loop"),
        ("", False, "invalid_path", "empty"),
        ("./a/..", False, "invalid_path", "empty"),
        ("x" * (MAX_NAME_BYTES + 1), False, "invalid_path", "too_long"),
        ("a/" * 2100, False, "invalid_path", "too_long"),
    ],
)
def test_s8_known_attacks_are_refused_with_their_reason(
    tree: tuple[Path, Path], user_path: str, from_url: bool, code: str, reason: str
) -> None:
    root, _ = tree
    with pytest.raises(InvalidPath) as caught:
        resolve_within(root, user_path, from_url=from_url)
    assert caught.value.code == code
    assert caught.value.details["reason"] == reason
    assert caught.value.http_status == (403 if code == "path_outside_root" else 400)
    assert isinstance(caught.value, PathOutsideRoot) == (code == "path_outside_root")
    assert str(root) not in caught.value.message  # the root is not echoed to the caller


@pytest.mark.parametrize(
    ("user_path", "target"),
    [
        ("a/f", "a/f"),
        ("in/f", "a/f"),
        ("abs_in/b/f", "a/b/f"),
        ("a/b/../f", "a/f"),
        ("in\\b\\f", "a/b/f"),
        ("a%2fb%2ff", "a/b/f"),
        ("new/file.md", "new/file.md"),
    ],
)
def test_s8_paths_inside_the_root_resolve_to_their_real_file(
    tree: tuple[Path, Path], user_path: str, target: str
) -> None:
    root, real_root = tree
    assert resolve_within(root, user_path, from_url="%" in user_path) == real_root / target
