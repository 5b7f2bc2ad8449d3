"""`zoo visualize ...` on the tiny registered classifier: every command writes its PNG."""

import numpy as np
import pytest
from PIL import Image

from zoo import cli

MODEL = "test/tiny_classifier"


@pytest.fixture(scope="module")
def pictures(tmp_path_factory):
    root = tmp_path_factory.mktemp("pics")
    rng = np.random.default_rng(0)
    paths = []
    for i in range(3):
        path = root / f"p{i}.png"
        Image.fromarray(rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)).save(path)
        paths.append(str(path))
    return paths


@pytest.mark.parametrize("argv", [
    ["occlusion", MODEL, "--image", "{0}", "--label", "1", "--layer", "conv1", "--size", "4", "--stride", "4"],
    ["deconv", MODEL, "--image", "{0}", "--layer", "conv1"],
    ["deconv", MODEL, "--image", "{0}", "--layer", "fc", "--rule", "guided", "--channel", "2"],
    ["patches", MODEL, "--images", "{0}", "{1}", "{2}", "--layer", "conv1", "--k", "2", "--channels", "0", "5"],
    ["invert", MODEL, "--image", "{0}", "--layer", "conv1", "--steps", "3"],
    ["maximize", MODEL, "--layer", "fc", "--channels", "0", "3", "--steps", "3"],
    ["dream", MODEL, "--image", "{0}", "--layer", "conv1", "--octaves", "1", "--steps", "2"],
    ["style", MODEL, "--image", "{0}", "--style-image", "{1}", "--content-layer", "conv1", "--style-layers", "conv1",
     "--steps", "3"],
], ids=lambda a: "-".join(a[:1] + a[-2:]))
def test_each_command_writes_a_png(argv, pictures, tmp_path, capsys):
    out = tmp_path / "out.png"
    args = ["visualize", *[a.format(*pictures) for a in argv], "--out", str(out)]
    assert cli.main(args) == 0, capsys.readouterr().err
    assert out.stat().st_size > 1000
    assert Image.open(out).format == "PNG"
    assert f"wrote {out}" in capsys.readouterr().out


def test_fields_prints_the_table(capsys):
    assert cli.main(["visualize", "fields", MODEL]) == 0
    out = capsys.readouterr().out
    assert "conv1" in out and "size 3x3" in out and "stride 2x2" in out and "offset 1x1" in out


def test_errors_are_one_sentence(pictures, tmp_path, capsys):
    code = cli.main(["visualize", "deconv", MODEL, "--image", pictures[0], "--layer", "conv9", "--out",
                     str(tmp_path / "x.png")])
    assert code == 2
    err = capsys.readouterr().err
    assert "no layer 'conv9'" in err and "conv1" in err
    code = cli.main(["visualize", "dream", MODEL, "--image", pictures[0], "--layer", "conv1", "--out",
                     str(tmp_path / "x.png")])
    assert code == 2 and "octaves" in capsys.readouterr().err
