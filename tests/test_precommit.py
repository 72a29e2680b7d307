"""The pre-commit hooks of .pre-commit-hooks.yaml, run for real by ``pre-commit try-repo``.

pre-commit builds the hook's environment by pip-installing this repository (and flake8 and
libcst from the package registry) into a fresh virtualenv, so these tests need the registry:
they are marked ``network`` and skip when it cannot be reached.

``try-repo`` only sees what git tracks: a local repository with uncommitted changes is cloned and
its *tracked* modifications committed on top, while untracked files (a new module, or the hooks
file itself before its first commit) are left out. To test exactly what is on disk, the tests
snapshot the working tree (tracked and untracked files, minus what .gitignore excludes) into a
throwaway repository and point ``try-repo`` at that. On a fresh clone (CI) the snapshot is the
clone itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest

ROOT = Path(__file__).resolve().parents[1]
HOOKS_FILE = ROOT / ".pre-commit-hooks.yaml"

# A DCGAN generator whose comment went stale: the second ConvTranspose2d gives 8 x 8, not 16 x 16.
BAD_MODEL = '''\
"""A DCGAN generator whose shape comment went stale."""
import torch.nn as nn

nz = 100  # length of the latent vector
ngf = 64  # generator width
nc = 3  # image channels


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            # input is Z, going into a convolution
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),
            # state size. (ngf*8) x 4 x 4
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            # state size. (ngf*4) x 16 x 16
            nn.ConvTranspose2d(ngf * 4, nc, 4, 2, 1, bias=False),
            nn.Tanh(),
            # state size. (nc) x 16 x 16
        )

    def forward(self, z):
        return self.main(z)
'''
STALE = "            # state size. (ngf*4) x 16 x 16\n"
FIXED = "            # state size. (ngf*4) x 8 x 8\n"
FINDING = "model.py:21:13: CVS101 comment says (ngf*4) x 16 x 16"


# --- the manifest itself (no network) ----------------------------------------------------------


def test_hooks_manifest_offers_check_and_fix():
    yaml = pytest.importorskip("yaml")  # PyYAML comes with pre-commit
    hooks = {h["id"]: h for h in yaml.safe_load(HOOKS_FILE.read_text(encoding="utf-8"))}
    assert set(hooks) == {"convshape", "convshape-fix"}
    assert hooks["convshape"]["entry"] == "convshape check"
    assert hooks["convshape-fix"]["entry"] == "convshape fix"
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert hook["types"] == ["python"]


def test_hooks_manifest_is_valid_for_pre_commit():
    pytest.importorskip("pre_commit")
    result = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-manifest", str(HOOKS_FILE)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- try-repo against this repository (network) --------------------------------------------------


def _registry_reachable(tmp: Path) -> bool:
    """pre-commit will pip-install flake8 and libcst: can pip fetch a package right now?"""
    try:
        result = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(tmp), "flake8==7.1.1"],
            capture_output=True,
            text=True,
            timeout=60,
            env=dict(os.environ, PIP_DEFAULT_TIMEOUT="10", PIP_RETRIES="0"),
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def _git(*args: str, cwd: Path) -> str:
    env = dict(
        os.environ,
        GIT_AUTHOR_NAME="test",
        GIT_AUTHOR_EMAIL="test@example.invalid",
        GIT_COMMITTER_NAME="test",
        GIT_COMMITTER_EMAIL="test@example.invalid",
        GIT_CONFIG_NOSYSTEM="1",
    )
    env.pop("GIT_DIR", None)
    env.pop("GIT_INDEX_FILE", None)
    env.pop("GIT_WORK_TREE", None)
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env)
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout


def _working_tree_files() -> List[str]:
    """This repository's files as on disk: tracked and untracked, minus ignored ones."""
    if (ROOT / ".git").exists() and shutil.which("git"):
        out = _git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT)
        return [p for p in out.split("\0") if p and (ROOT / p).is_file()]
    skip = {".git", "__pycache__", ".pytest_cache", ".hypothesis", "build", "dist", ".venv"}
    files = []
    for path in ROOT.rglob("*"):
        rel = path.relative_to(ROOT)
        if path.is_file() and not skip.intersection(rel.parts) and not rel.parts[0].endswith(".egg-info"):
            files.append(rel.as_posix())
    return files


@pytest.fixture(scope="module")
def network(tmp_path_factory) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    pytest.importorskip("pre_commit")
    if not _registry_reachable(tmp_path_factory.mktemp("probe")):
        pytest.skip("the package registry cannot be reached (pre-commit must pip-install the hook)")


@pytest.fixture(scope="module")
def hook_repo(network, tmp_path_factory) -> Path:
    """A committed snapshot of this repository's working tree, for ``try-repo`` to clone."""
    snapshot = tmp_path_factory.mktemp("hook-repo")
    for rel in _working_tree_files():
        target = snapshot / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, target)
    assert (snapshot / ".pre-commit-hooks.yaml").is_file()
    _git("init", "-q", cwd=snapshot)
    _git("add", "-A", cwd=snapshot)
    _git("commit", "-q", "--no-verify", "-m", "snapshot", cwd=snapshot)
    return snapshot


@pytest.fixture
def user_repo(tmp_path) -> Path:
    """The user's project: a git repository holding one model with a stale shape comment."""
    repo = tmp_path / "project"
    repo.mkdir()
    _git("init", "-q", cwd=repo)
    (repo / "model.py").write_text(BAD_MODEL, encoding="utf-8")
    _git("add", "model.py", cwd=repo)
    return repo


def _try_repo(hook_repo: Path, hook: str, cwd: Path, home: Path) -> subprocess.CompletedProcess:
    env: Dict[str, str] = dict(os.environ, PRE_COMMIT_HOME=str(home), PRE_COMMIT_COLOR="never")
    for name in ("GIT_DIR", "GIT_INDEX_FILE", "GIT_WORK_TREE", "VIRTUAL_ENV"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), hook, "--all-files", "--verbose"],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )


@pytest.mark.network
def test_check_hook_fails_on_a_stale_comment(hook_repo: Path, user_repo: Path, tmp_path: Path):
    result = _try_repo(hook_repo, "convshape", user_repo, tmp_path / "pc-home")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert FINDING in output, output
    assert "Failed" in output, output
    # the check leaves the file alone
    assert (user_repo / "model.py").read_text(encoding="utf-8") == BAD_MODEL


def _fix_command_exists() -> bool:
    result = subprocess.run(
        [sys.executable, "-m", "flake8_convshape.cli", "fix", "--help"], capture_output=True, text=True, cwd=ROOT
    )
    return result.returncode == 0


@pytest.mark.network
def test_fix_hook_rewrites_the_stale_comment(hook_repo: Path, user_repo: Path, tmp_path: Path):
    if not _fix_command_exists():
        pytest.skip("`convshape fix` does not exist yet in this checkout: the convshape-fix hook has no command")
    result = _try_repo(hook_repo, "convshape-fix", user_repo, tmp_path / "pc-home")
    output = result.stdout + result.stderr
    fixed = (user_repo / "model.py").read_text(encoding="utf-8")
    assert fixed == BAD_MODEL.replace(STALE, FIXED), output
    # pre-commit fails a hook that modified files, so the user reviews the rewrite
    assert result.returncode == 1, output
    assert "files were modified by this hook" in output, output
