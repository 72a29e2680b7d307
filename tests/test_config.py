"""``[tool.convshape]`` in pyproject.toml, and the command-line options that override it."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from flake8_convshape.cli import main
from flake8_convshape.config import Config, ConfigError, Finder, find_config, load

ROOT = Path(__file__).resolve().parents[1]

# a symbolic input channel count (c) and width (w), and a CVS301 and a CVS101 to select between
MODEL = textwrap.dedent(
    """\
    import torch.nn as nn

    net = nn.Sequential(
        nn.Conv2d(c, w, 3, 2, 0),
        # state size. 8 x 32 x 32
    )
    """
)


def project(tmp_path: Path, table: str = "", model: str = MODEL, git: bool = True) -> Path:
    """A folder with a pyproject.toml (``table`` under [tool.convshape]) and models/net.py."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    if git:
        (tmp_path / ".git").mkdir()
    if table is not None:
        (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "x"\n\n[tool.convshape]\n{table}\n')
    models = tmp_path / "models"
    models.mkdir()
    (models / "net.py").write_text(model)
    return models / "net.py"


def check(capsys, *args: str):
    code = main(["check", *map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


# finding the file -------------------------------------------------------------------------------


def test_the_nearest_table_wins_and_files_without_one_are_skipped(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text('[tool.convshape]\nselect = ["CVS1"]\n')
    sub = tmp_path / "pkg" / "inner"
    sub.mkdir(parents=True)
    (tmp_path / "pkg" / "pyproject.toml").write_text('[project]\nname = "inner"\n')  # no table
    (sub / "m.py").write_text("x = 1\n")
    config = find_config(str(sub / "m.py"))
    assert config.select == ("CVS1",) and config.path == str(tmp_path / "pyproject.toml")
    (sub / "pyproject.toml").write_text('[tool.convshape]\nignore = "CVS3"\n')
    assert find_config(str(sub / "m.py")).ignore == ("CVS3",)


def test_the_search_stops_at_the_repository_root(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.convshape]\nselect = ["CVS1"]\n')
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "m.py").write_text("x = 1\n")
    assert find_config(str(repo / "m.py")) == Config()


def test_the_finder_reads_each_folder_once(tmp_path, monkeypatch):
    import flake8_convshape.config as config_module

    path = project(tmp_path, 'select = ["CVS2"]')
    reads = []
    real = config_module.read_table
    monkeypatch.setattr(config_module, "read_table", lambda p: reads.append(p) or real(p))
    finder = Finder()
    for _ in range(3):
        assert finder.for_path(str(path)).select == ("CVS2",)
    assert reads == [str(tmp_path / "pyproject.toml")]


def test_every_key_is_read(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        textwrap.dedent(
            """\
            [tool.convshape]
            select = ["cvs1", "CVS201,CVS3"]
            ignore = "CVS301"
            define = { ngf = 64, opt = { nz = 100 } }
            input = "3x64x64"
            """
        )
    )
    config = load(tmp_path / "pyproject.toml")
    assert config.select == ("CVS1", "CVS201", "CVS3")
    assert config.ignore == ("CVS301",)
    assert config.define == {"ngf": 64, "opt.nz": 100}
    assert config.input == "3x64x64"
    assert config.warnings == ()


def test_define_may_be_a_string(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.convshape]\ndefine = "ngf=64, nz=100"\n')
    assert load(tmp_path / "pyproject.toml").define == {"ngf": 64, "nz": 100}


@pytest.mark.parametrize(
    "table, message",
    [
        ('select = "CVS1!"', "is not a code prefix"),
        ("select = 3", "must be a list of code prefixes"),
        ('define = { ngf = "64" }', "ngf must be an integer"),
        ("define = { ngf = true }", "ngf must be an integer"),
        ('define = "ngf"', "not NAME=INTEGER"),
        ('input = "three by four"', "not a shape"),
        ("input = 3", "must be a string"),
        ('convshape = "x"', None),  # unknown key: a warning, not an error
    ],
)
def test_bad_tables_are_errors_with_the_file_and_key(tmp_path, table, message):
    (tmp_path / "pyproject.toml").write_text(f"[tool.convshape]\n{table}\n")
    if message is None:
        assert "unknown key 'convshape'" in load(tmp_path / "pyproject.toml").warnings[0]
        return
    with pytest.raises(ConfigError, match=message) as info:
        load(tmp_path / "pyproject.toml")
    assert str(tmp_path / "pyproject.toml") in str(info.value)


def test_broken_toml_is_an_error(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.convshape\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(tmp_path / "pyproject.toml")


def test_tomli_is_a_dependency_before_3_11():
    text = (ROOT / "pyproject.toml").read_text()
    assert 'tomli>=1.1; python_version < \\"3.11\\"' in text
    if sys.version_info < (3, 11):  # pragma: no cover
        import tomli  # noqa: F401


# the commands use it ---------------------------------------------------------------------------


def test_check_reads_defines_and_input_from_the_file(tmp_path, capsys):
    path = project(tmp_path, 'define = { c = 3, w = 8 }\ninput = "3x64x64"')
    code, out, _ = check(capsys, path)
    assert code == 1
    assert "CVS101 comment says 8 x 32 x 32, but Conv2d(c, w, 3, 2, 0) at line 4 gives 8 x 31 x 31" in out
    assert "CVS301" in out
    code, out, _ = check(capsys, "--isolated", path)  # the file ignored: nothing to compare
    assert (code, out) == (0, "")


def test_select_and_ignore_in_the_file(tmp_path, capsys):
    path = project(tmp_path, 'define = { c = 3, w = 8 }\ninput = "3x64x64"\nselect = ["CVS3"]')
    _, out, _ = check(capsys, path)
    assert [line.split()[1] for line in out.splitlines()] == ["CVS301"]
    path = project(tmp_path / "b", 'define = { c = 3, w = 8 }\ninput = "3x64x64"\nignore = ["CVS3"]')
    _, out, _ = check(capsys, path)
    assert [line.split()[1] for line in out.splitlines()] == ["CVS101"]


def test_the_command_line_overrides_the_file(tmp_path, capsys):
    path = project(tmp_path, 'define = { c = 3, w = 8 }\ninput = "3x64x64"\nselect = ["CVS3"]')
    _, out, _ = check(capsys, "--select", "CVS1", path)  # replaces the file's select
    assert [line.split()[1] for line in out.splitlines()] == ["CVS101"]
    _, out, _ = check(capsys, "--select", "CVS1", "--define", "w=16", path)  # w from here, c from the file
    assert "comment says 8 x 32 x 32, but Conv2d(c, w, 3, 2, 0) at line 4 gives 16 x 31 x 31" in out
    _, out, _ = check(capsys, "--select", "CVS1", "--input", "3x66x66", path)  # replaces the input
    assert "gives 8 x 32 x 32" not in out and out == ""


def test_a_config_file_can_be_named(tmp_path, capsys):
    path = project(tmp_path, None, git=False)
    other = tmp_path / "elsewhere.toml"
    other.write_text('[tool.convshape]\ndefine = { c = 3, w = 8 }\ninput = "3x64x64"\n')
    code, out, _ = check(capsys, "--config", other, path)
    assert code == 1 and "CVS101" in out
    code, _, err = check(capsys, "--config", tmp_path / "missing.toml", path)
    assert code == 2 and "--config: no such file" in err


def test_a_bad_file_stops_every_command_with_exit_2(tmp_path, capsys):
    path = project(tmp_path, 'select = ["CVS 1"]')
    for command in ("check", "fix", "annotate", "summary"):
        assert main([command, str(path)]) == 2
        out = capsys.readouterr()
        assert out.out == ""
        assert out.err.startswith("convshape: error: ") and "is not a code prefix" in out.err


def test_unknown_keys_warn_once(tmp_path, capsys):
    path = project(tmp_path, "colour = true")
    (path.parent / "other.py").write_text(MODEL)
    assert main(["check", str(path.parent)]) == 0
    err = capsys.readouterr().err
    assert err.count("ignores unknown key 'colour'") == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["--select", "CVS1,C!"], "--select: 'C!' is not a code prefix"),
        (["--define", "ngf"], "--define: not NAME=INTEGER"),
        (["--input", "3 by 4"], "--input: not a shape"),
    ],
)
def test_bad_options_are_usage_errors(tmp_path, capsys, args, message):
    path = project(tmp_path, "")
    code, out, err = check(capsys, *args, path)
    assert (code, out) == (2, "")
    assert message in err


def test_fix_annotate_and_summary_read_the_file(tmp_path, capsys):
    model = textwrap.dedent(
        """\
        import torch.nn as nn

        net = nn.Sequential(
            nn.Conv2d(c, w, 4, 2, 1),
            nn.ReLU(),
            # state size. 8 x 64 x 64
            nn.Conv2d(w, w, 4, 2, 1),
            nn.ReLU(),
        )
        """
    )
    path = project(tmp_path, 'define = { c = 3, w = 8 }\ninput = "3x128x128"', model)
    assert main(["summary", "--format", "json", str(path)]) == 0
    (block,) = json.loads(capsys.readouterr().out)
    assert block["input"] == "3 x 128 x 128" and block["layers"][-1]["output"] == "w x 32 x 32"
    assert block["layers"][-1]["output_dims"] == [8, 32, 32]
    assert main(["fix", str(path)]) == 0
    capsys.readouterr()
    assert "# state size. 8 x 64 x 64" in path.read_text()  # it was right
    path.write_text(model.replace("8 x 64 x 64", "8 x 16 x 16"))  # right under no placement
    assert main(["fix", str(path)]) == 0
    assert "# state size. 8 x 64 x 64" in path.read_text()
    assert main(["annotate", str(path)]) == 0
    text = path.read_text()
    assert "    # input: 3 x 128 x 128\n    nn.Conv2d(c, w, 4, 2, 1)," in text
    assert text.rstrip().endswith("nn.ReLU(),\n    # state size. 8 x 32 x 32\n)")


# flake8 reads the same settings ------------------------------------------------------------------


def run_flake8(cwd: Path, *args: str):
    import subprocess

    return subprocess.run(
        [sys.executable, "-m", "flake8", "--select", "CVS", *args, "models/net.py"], cwd=cwd, capture_output=True, text=True
    )


def test_flake8_reads_define_input_and_ignore_from_the_file(tmp_path):
    path = project(tmp_path, 'define = { c = 3, w = 8 }\ninput = "3x64x64"\nignore = ["CVS3"]')
    result = run_flake8(tmp_path)
    assert result.stdout.splitlines() == [
        "models/net.py:5:5: CVS101 comment says 8 x 32 x 32, but Conv2d(c, w, 3, 2, 0) at line 4 gives 8 x 31 x 31: "
        "(64+2*0-3)/2+1 = 31; padding=1 gives 32",
    ]
    assert result.stderr == ""
    (tmp_path / "pyproject.toml").write_text('[tool.convshape]\ndefine = { c = 3, w = 8 }\ninput = "3x64x64"\n')
    assert [line.split()[1] for line in run_flake8(tmp_path).stdout.splitlines()] == ["CVS301", "CVS101"]
    (tmp_path / "pyproject.toml").write_text('[tool.convshape]\ndefine = { c = 3, w = 8 }\ninput = "3x64x64"\nselect = ["CVS3"]\n')
    assert [line.split()[1] for line in run_flake8(tmp_path).stdout.splitlines()] == ["CVS301"]
    assert path.exists()


def test_flake8_options_override_the_file(tmp_path):
    project(tmp_path, 'define = { c = 3, w = 8 }\ninput = "3x64x64"')
    out = run_flake8(tmp_path, "--convshape-define", "w=16").stdout
    assert "gives 16 x 31 x 31" in out  # w from the option, c from the file
    assert run_flake8(tmp_path, "--convshape-input", "3x66x66", "--extend-ignore", "CVS3").stdout == ""
    result = run_flake8(tmp_path, "--convshape-input", "3xx")
    assert result.returncode != 0 and "flake8-convshape: --convshape-input: not a shape: '3xx'" in result.stderr
    assert "Traceback" not in result.stderr


def test_flake8_with_a_bad_table_warns_and_goes_on(tmp_path):
    project(tmp_path, "input = 5")
    result = run_flake8(tmp_path, "--convshape-define", "c=3,w=8", "--convshape-input", "3x64x64")
    assert result.stderr.count("input must be a string") == 1 and "Traceback" not in result.stderr
    assert [line.split()[1] for line in result.stdout.splitlines()] == ["CVS301", "CVS101"]
