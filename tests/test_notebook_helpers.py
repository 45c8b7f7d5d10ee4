import nbformat
import pytest
from nbclient import NotebookClient

from coursekit.notebook import skip_remaining_cells


def test_skip_remaining_cells_turns_later_cells_into_a_note():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("from coursekit.notebook import skip_remaining_cells\n"
                                          "skip_remaining_cells('needs the generated world')"),
                nbformat.v4.new_code_cell("raise ValueError('a skipped cell must not run')"),
                nbformat.v4.new_code_cell("%matplotlib inline\nx = 2")]
    NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    texts = ["".join(o.get("text", "") for o in c.outputs) for c in nb.cells]
    assert texts[0] == "The rest of this notebook is skipped: needs the generated world\n"
    assert texts[1] == texts[2] == "skipped: needs the generated world\n"


def test_skip_remaining_cells_outside_a_notebook_says_to_stop():
    with pytest.raises(RuntimeError, match="inside a notebook"):
        skip_remaining_cells("needs the generated world")


def test_audio_player_writes_the_clip_beside_the_notebook_and_links_it(tmp_path, monkeypatch):
    import base64
    import wave

    import numpy as np

    from coursekit.notebook import audio_player

    monkeypatch.chdir(tmp_path)
    player = audio_player(np.array([0.0, 0.5, -1.0, 2.0]), "audio/clip.wav", sr=8000)
    with wave.open(str(tmp_path / "audio" / "clip.wav")) as clip:
        assert (clip.getnchannels(), clip.getsampwidth(), clip.getframerate()) == (1, 2, 8000)
        samples = np.frombuffer(clip.readframes(4), dtype="<i2").tolist()
    assert samples == [0, 16384, -32767, 32767]  # round(0.5 * 32767) = 16384; 2.0 is clipped to 1
    assert (tmp_path / "audio" / "clip.wav").read_bytes() == player.wav and len(player.wav) == 44 + 4 * 2
    assert sorted(p.name for p in (tmp_path / "audio").iterdir()) == ["clip.wav"]  # no temporary file left
    html = player._repr_html_()
    assert html.startswith('<audio controls preload="metadata" src="audio/clip.wav" onerror="')
    assert "data:audio/wav;base64," + base64.b64encode(player.wav).decode() in html
    assert repr(player) == "AudioPlayer(path='audio/clip.wav')"


def test_audio_player_rewrites_the_file_only_when_the_clip_changed(tmp_path, monkeypatch):
    import os

    import numpy as np

    from coursekit.notebook import audio_player

    monkeypatch.chdir(tmp_path)
    audio_player(np.zeros(10), "a.wav", sr=100)
    os.utime("a.wav", (1_000_000, 1_000_000))
    audio_player(np.zeros(10), "a.wav", sr=100)
    assert os.stat("a.wav").st_mtime == 1_000_000  # the same clip: left as it is
    audio_player(np.full(10, 0.25), "a.wav", sr=100)
    assert os.stat("a.wav").st_mtime != 1_000_000 and len(open("a.wav", "rb").read()) == 44 + 20


@pytest.mark.parametrize("path, kwargs, match", [
    ("/tmp/clip.wav", {}, "relative to the notebook"),
    ("../clip.wav", {}, "relative to the notebook"),
    ("clip.mp3", {}, "must end in .wav"),
    ("clip.wav", {"sr": 0}, "sr=0"),
    ("clip.wav", {"y": [[0.0, 0.1]]}, "shape"),
    ("clip.wav", {"y": []}, "shape"),
])
def test_audio_player_says_what_is_wrong(tmp_path, monkeypatch, path, kwargs, match):
    from coursekit.notebook import audio_player

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=match):
        audio_player(kwargs.pop("y", [0.0, 0.1]), path, **kwargs)
    assert list(tmp_path.iterdir()) == []
