"""Import forms the artifact check must see, each found by the red team of issue 18 going through
unnoticed: a module of a namespace package (`google.cloud.bigquery` when only `google` was looked
up), a literal `importlib.import_module` or `__import__`, an import under `if not TYPE_CHECKING:`,
and a data file read beside a module (only `*.py` is zipped). Each planted one stops the build,
named; nothing in hub_import needs any of them today."""
from __future__ import annotations

import pytest

from deploy import artifact
from tests.terraform.test_artifact import source_copy

PLANTS = {
    # google is a namespace package: any google-* requirement makes find_spec("google") succeed,
    # so a google library requirements.txt lacks is never noticed (only the top name is probed).
    "namespace_package": ("hub_import/core/text.py",
                          "\n\ndef _bq():\n    from google.cloud import bigquery\n    return bigquery.Client()\n",
                          "from google.cloud import bigquery", "google.cloud.bigquery"),
    # the same with a plain `import a.b.c`
    "namespace_dotted": ("hub_import/core/text.py",
                         "\n\ndef _kms():\n    import google.cloud.kms\n    return google.cloud.kms\n",
                         "import google.cloud.kms", "google.cloud.kms"),
    # importlib with a literal: an own module the artifact does not hold
    "import_module_literal": ("hub_import/core/text.py",
                              "\n\ndef _plugin():\n    import importlib\n"
                              "    return importlib.import_module('hub_import.plugins.extra')\n",
                              "import_module('hub_import.plugins.extra')", "hub_import.plugins.extra"),
    # __import__ with a literal: a library requirements.txt lacks
    "dunder_import": ("hub_import/core/text.py",
                      "\n\ndef _yaml():\n    return __import__('yaml')\n", "__import__('yaml')", "yaml"),
    # `if not TYPE_CHECKING:` runs; the check skips any `if` whose test mentions TYPE_CHECKING
    "not_type_checking": ("hub_import/core/text.py",
                          "\nfrom typing import TYPE_CHECKING\nif not TYPE_CHECKING:\n"
                          "    from hub_import.core.gone import thing\n",
                          "if not TYPE_CHECKING", "hub_import.core.gone"),
    # a data file read at run time (only *.py is zipped)
    "data_file": ("hub_import/core/text.py",
                  "\n\nimport json as _json\nfrom pathlib import Path as _Path\n"
                  "QUIRKS = _json.loads((_Path(__file__).parent / 'quirks.json').read_text())\n",
                  "quirks.json", "quirks.json"),
}



@pytest.mark.parametrize("plant", sorted(PLANTS))
def test_a_planted_import_the_artifact_cannot_satisfy_stops_the_build_and_is_named(tmp_path, plant):
    repo = source_copy(tmp_path)
    where, code, _, name = PLANTS[plant]
    if plant == "data_file":
        (repo / "hub_import" / "core" / "quirks.json").write_text("{}")  # in the package, not zipped
    with open(repo / where, "a") as module:
        module.write(code)
    with pytest.raises(artifact.ArtifactError) as failure:
        artifact.prepare(tmp_path / "out", repo, repo / "module" / "artifact.json")
    assert name in str(failure.value)
