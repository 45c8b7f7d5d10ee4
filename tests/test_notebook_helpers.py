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
