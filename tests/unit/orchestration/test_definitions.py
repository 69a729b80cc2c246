import importlib

import dagster as dg
import yaml

from ingest.connections import REPO_ROOT


def test_workspace_points_at_a_loadable_code_location():
    workspace = yaml.safe_load((REPO_ROOT / "workspace.yaml").read_text())
    module_name = workspace["load_from"][0]["python_module"]["module_name"]

    defs = importlib.import_module(module_name).defs

    assert isinstance(defs, dg.Definitions)
    dg.Definitions.validate_loadable(defs)
