"""A researcher's own loss, model, dataset and variant in their own file (examples/my_gan.py), with no fork:
imported by a suite's ``imports:`` or ``--import``, listed as a plugin, recorded in run.json, hashed into the ids
of the trials that use it, and shipped to Ray workers through Ray's runtime environment.

The example README's "Your own method" shows is the one these tests copy out of the package and run.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from ganbench import plugins
from ganbench.config import TrialConfig
from ganbench.registry import LOSSES, REGISTRIES, UnknownNameError, load_all, suggest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples"
TINY = ["--set", "budget.steps=20", "--set", "budget.eval_every=10", "--set", "params.eval_samples=200"]


def bench(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "bench.py"), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=400)


@pytest.fixture
def own_folder(tmp_path) -> Path:
    """The example plugin and its suite in a folder outside the package."""
    folder = tmp_path / "my_method"
    folder.mkdir()
    for name in ("my_gan.py", "my_gan.yaml"):
        shutil.copy(EXAMPLE / name, folder / name)
    return folder


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """Registries and the plugin record as they were: what a test imports here leaves no trace in others."""
    load_all()  # ganbench's own entries in the registries kept, not only in the test's copies
    for registry in REGISTRIES.values():
        for attr in ("_items", "_descriptions", "_origins"):
            monkeypatch.setattr(registry, attr, dict(getattr(registry, attr)))
    monkeypatch.setattr(plugins, "_LOADED", dict(plugins._LOADED))
    yield
    for name, module in list(sys.modules.items()):  # the test's own modules, imported from its folder
        if str(getattr(module, "__file__", None) or "").startswith(str(tmp_path)):
            del sys.modules[name]


def test_validate_and_list_a_suite_whose_components_come_from_its_own_file(own_folder, tmp_path):
    elsewhere = tmp_path / "elsewhere"  # the suite's imports are relative to the suite file, not the cwd
    elsewhere.mkdir()
    res = bench("validate", str(own_folder / "my_gan.yaml"), cwd=elsewhere)
    assert res.returncode == 0, res.stderr
    assert "3 cells x 1 seeds = 3 trials" in res.stdout and "smooth_pacgan2" in res.stdout
    res = bench("validate", str(own_folder / "my_gan.yaml"), "--set", "imports=[my_gan]", cwd=elsewhere)
    assert res.returncode == 0, res.stderr  # a module name: NAME.py (or a package NAME/) beside the suite first

    res = bench("list", "--import", str(own_folder / "my_gan.py"), cwd=elsewhere)
    assert res.returncode == 0, res.stderr
    lines = {line.split()[0]: line for line in res.stdout.splitlines() if line.strip()}
    for name in ("smooth_ns", "tiny_mlp", "ring4", "smooth_pacgan2"):
        assert "[plugin my_gan]" in lines[name]
    assert "[plugin" not in lines["nonsaturating"] and "[plugin" not in lines["pacgan2"]
    res = bench("list", "losses", "--import", "my_gan.py", cwd=own_folder)  # a .py path relative to the cwd
    assert res.returncode == 0 and "[plugin my_gan]" in res.stdout and "ring4" not in res.stdout


@pytest.mark.parametrize("plugin, expected", [
    ("broken.py", "ModuleNotFoundError: No module named 'not_a_real_package'"),
    ("missing.py", "no such file"),
    ("no_such_module_anywhere", "ModuleNotFoundError: No module named 'no_such_module_anywhere'"),
])
def test_a_plugin_that_fails_to_import_is_one_error_line_and_exit_2(tmp_path, plugin, expected):
    (tmp_path / "broken.py").write_text("import not_a_real_package\n")
    suite = tmp_path / "suite.yaml"
    suite.write_text(f"name: s\nimports: [{plugin}]\nseeds: [0]\nbudget: {{steps: 10, eval_every: 10}}\n"
                     "grid: {model: [mlp], loss: [nonsaturating], dataset: [ring8]}\n")
    for args in (("validate", str(suite)), ("run", str(suite), "--out", str(tmp_path / "out")),
                 ("list", "--import", plugin), ("validate", str(ROOT / "suites/quick.yaml"), "--import", plugin),
                 ("reproduce", str(ROOT / "suites/papers/pacgan-ring.yaml"), "--import", plugin)):
        res = bench(*args, cwd=tmp_path)
        assert res.returncode == 2, (args, res.stderr)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], (args, lines)
        assert plugin.removesuffix(".py") in lines[0]
    assert not (tmp_path / "out").exists()


def test_plugin_trials_hash_the_plugins_source_and_built_in_trials_do_not(own_folder, isolated):
    plugin, = plugins.import_plugins(["my_gan.py"], base=own_folder)
    assert plugin.module == "my_gan" and plugin.version.startswith("sha256:")
    assert LOSSES.origin("smooth_ns") == "my_gan" and LOSSES.origin("hinge") is None
    mine = TrialConfig(model="tiny_mlp", loss="smooth_ns", dataset="ring4")
    assert plugins.used_by(mine) == {"my_gan": plugin.version}
    assert plugins.used_by(TrialConfig(model="mlp", loss="hinge", dataset="ring8")) == {}
    (own_folder / "pac5.py").write_text("from ganbench.registry import register_variant\n"
                                        "from ganbench.variants import Variant\n"
                                        "register_variant(Variant('pac5', {'pac': 5}, 'nobody', 'packing 5'))\n")
    pac5, = plugins.import_plugins([str(own_folder / "pac5.py")])  # a plugin variant of built-in keys only
    assert plugins.used_by(TrialConfig(model="mlp", loss="hinge", dataset="ring8", variant="pac5")) == \
        {"pac5": pac5.version}
    # the same config with an edited plugin file gets another id: it never resumes into the old rows
    before = mine.config_hash()
    plugins._LOADED["my_gan"] = plugins.Plugin("my_gan", "my_gan", "1.0", None)  # as an installed package
    assert mine.config_hash() != before
    assert plugins.runtime_env() == {"py_modules": [str(own_folder / "pac5.py")]}  # an installed one is not shipped
    plugins._LOADED["my_gan"] = plugin
    assert mine.config_hash() == before
    assert plugins.runtime_env() == {"py_modules": [str(own_folder / "my_gan.py"), str(own_folder / "pac5.py")]}


def test_one_suggest_for_every_did_you_mean(tmp_path):
    assert suggest("hinje", ["hinge", "minimax"]) == " (did you mean 'hinge'?)"
    assert suggest("zzz", ["hinge"]) == ""
    with pytest.raises(UnknownNameError, match=r"did you mean 'hinge'"):
        LOSSES.get("hinje")
    from ganbench.suite import SuiteError, validate_suite

    raw = {"name": "s", "seeds": [0], "budget": {"steps": 1, "eval_every": 1}, "importz": ["x"],
           "grid": {"model": ["mlp"], "loss": ["hinge"], "dataset": ["ring8"]}, "params": {"lr_gg": 1e-3}}
    with pytest.raises(SuiteError) as err:
        validate_suite(raw)
    assert "(did you mean 'imports'?)" in str(err.value)
    raw.pop("importz")
    with pytest.raises(SuiteError, match=r"params.lr_gg: unknown key.*did you mean 'lr_g'"):
        validate_suite(raw)
    src = "\n".join(p.read_text() for p in (ROOT / "ganbench").rglob("*.py"))
    assert src.count("get_close_matches") == 1  # registry.suggest's own


def test_a_lazy_entry_imports_its_module_at_first_lookup(tmp_path, isolated, monkeypatch):
    (tmp_path / "lazy_losses.py").write_text(
        "from ganbench.losses import NonSaturating\n\nclass Lazy(NonSaturating):\n    '''A lazy loss.'''\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    LOSSES.register("lazy_ns", target="lazy_losses:Lazy")
    assert "lazy_losses" not in sys.modules and "lazy_ns" in LOSSES.names()
    assert LOSSES.get("lazy_ns").__name__ == "Lazy" and LOSSES.describe("lazy_ns") == "A lazy loss."
    assert LOSSES.origin("lazy_ns") == "lazy_losses"
    LOSSES.register("lazy_missing", target="lazy_losses:Nothing")
    with pytest.raises(Exception, match=r"loss 'lazy_missing': cannot import lazy_losses:Nothing"):
        LOSSES.get("lazy_missing")
    with pytest.raises(ValueError, match="expected 'module:object'"):
        LOSSES.register("bad", target="no_colon")


def _local_package(folder: Path) -> Path:
    (folder / "local_pkg").mkdir(parents=True)
    (folder / "local_pkg" / "__init__.py").write_text("from local_pkg import sub  # noqa\n")
    (folder / "local_pkg" / "sub.py").write_text("from ganbench.registry import LOSSES\n"
                                                 "from ganbench.losses import Hinge\n"
                                                 "LOSSES.add('local_hinge', Hinge)\n")
    return folder


def test_a_plugin_named_by_module_ships_its_file_or_package_to_ray(tmp_path, isolated, monkeypatch):
    (tmp_path / "single_mod.py").write_text("from ganbench.registry import LOSSES\n"
                                            "from ganbench.losses import Hinge\n"
                                            "LOSSES.add('single_hinge', Hinge)\n")
    (tmp_path / "elsewhere").mkdir()  # no module of that name there: found on sys.path
    (tmp_path / "pkg_mod").mkdir()
    (tmp_path / "pkg_mod" / "__init__.py").write_text("from pkg_mod import sub  # noqa\n")
    (tmp_path / "pkg_mod" / "sub.py").write_text("from ganbench.registry import LOSSES\n"
                                                 "from ganbench.losses import Hinge\n"
                                                 "LOSSES.add('pkg_hinge', Hinge)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    single, package = plugins.import_plugins(["single_mod", "pkg_mod"], base=tmp_path / "elsewhere")
    assert (LOSSES.origin("single_hinge"), LOSSES.origin("pkg_hinge")) == ("single_mod", "pkg_mod")
    assert single.path == str(tmp_path / "single_mod.py") and package.path == str(tmp_path / "pkg_mod")
    assert plugins.runtime_env()["py_modules"][-2:] == [single.path, package.path]
    before = package.version
    local, = plugins.import_plugins(["local_pkg"], base=_local_package(tmp_path / "suite_dir"))
    assert local.path == str(tmp_path / "suite_dir" / "local_pkg") and LOSSES.origin("local_hinge") == "local_pkg"
    (tmp_path / "pkg_mod" / "sub.py").write_text((tmp_path / "pkg_mod" / "sub.py").read_text() + "# edited\n")
    assert plugins._folder_version(tmp_path / "pkg_mod") != before  # any file of the package changes its version
    with pytest.raises(plugins.PluginError, match="loss 'hinge' is registered twice"):
        (tmp_path / "twice.py").write_text("from ganbench.registry import LOSSES\nLOSSES.add('hinge', object)\n")
        plugins.import_plugins(["twice.py"], base=tmp_path)


@pytest.mark.ray
def test_run_a_plugin_suite_through_the_cli_and_resume_it(own_folder, tmp_path):
    out = tmp_path / "out"
    res = bench("run", str(own_folder / "my_gan.yaml"), "--out", str(out), *TINY, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    trials = pd.read_parquet(out / "trials.parquet")
    assert len(trials) == 3 and set(trials["status"]) == {"complete"}
    assert set(trials["loss"]) == {"nonsaturating", "smooth_ns"} and trials["modes_covered"].max() <= 4  # ring4
    options = [json.loads(p)["options"] for p in trials.sort_values("smooth_ns.real_target")["params"]]
    assert options == [{"smooth_ns": {"real_target": 0.8}}, {}, {}]  # only where it differs from the default
    info = json.loads((out / "run.json").read_text())
    [record] = info["plugins"]
    assert record["module"] == "my_gan" and record["source"] == str(own_folder / "my_gan.py")
    assert record["version"] == plugins._file_version(own_folder / "my_gan.py")
    assert trials["config_hash"].tolist() == trials["trial_id"].tolist()  # workers hash the plugin as the driver
    res = bench("run", str(own_folder / "my_gan.yaml"), "--out", str(out), *TINY, cwd=tmp_path)
    assert res.returncode == 0 and "3 already finished" in res.stderr, res.stderr
    with (own_folder / "my_gan.py").open("a") as f:  # an edited plugin: its trials would get new ids
        f.write("# edited\n")
    res = bench("run", str(own_folder / "my_gan.yaml"), "--out", str(out), *TINY, cwd=tmp_path)
    assert res.returncode == 2 and len(pd.read_parquet(out / "trials.parquet")) == 3, res.stderr
    assert f"its trials ran plugin my_gan {record['version']}, not sha256:" in res.stderr
    assert "--fresh" in res.stderr


@pytest.mark.ray
def test_a_two_node_cluster_gets_the_plugin_through_rays_runtime_env(own_folder, tmp_path, monkeypatch):
    """The workers start in a folder without the plugin, on a node with no CPU for the driver's trials on the
    head: only Ray's runtime environment (py_modules) can bring my_gan.py to them."""
    import ray
    from ray.cluster_utils import Cluster

    nodes_cwd, driver_cwd = tmp_path / "nodes", tmp_path / "driver"
    nodes_cwd.mkdir()
    driver_cwd.mkdir()
    monkeypatch.chdir(nodes_cwd)  # the raylets, and so every worker process, start here
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    node = cluster.add_node(num_cpus=1)
    try:
        cluster.wait_for_nodes()
        env = {**os.environ, "PYTHONPATH": ""}  # nothing on the workers' path finds my_gan by chance
        res = subprocess.run([sys.executable, str(ROOT / "bench.py"), "run", str(own_folder / "my_gan.yaml"),
                              "--out", str(tmp_path / "out"), "--address", cluster.address, *TINY,
                              "--set",
                              "grid=[{loss: [smooth_ns], variant: [smooth_pacgan2], smooth_ns.real_target: [0.8]}]"],
                             cwd=driver_cwd, capture_output=True, text=True, timeout=400, env=env)
        assert res.returncode == 0, res.stderr
    finally:
        ray.shutdown()
        cluster.shutdown()
    trials = pd.read_parquet(tmp_path / "out" / "trials.parquet")
    assert len(trials) == 1 and trials["status"].tolist() == ["complete"], trials.get("message")
    assert trials["ray_node_id"].tolist() == [node.node_id]  # the second node ran it
    assert trials["config_hash"].tolist() == trials["trial_id"].tolist()  # the worker hashed the same plugin
    assert trials["smooth_ns.real_target"].tolist() == [0.8]  # the plugin's option, validated on the worker too


def test_the_readme_shows_the_example_these_tests_run():
    readme = (ROOT / "README.md").read_text()
    for name, fence in (("my_gan.py", "python"), ("my_gan.yaml", "yaml")):
        assert f"```{fence}\n{(EXAMPLE / name).read_text()}```" in readme, f"README: examples/{name} differs"
    assert "your method in your own file" in (ROOT / "CONTRIBUTING.md").read_text().lower()


def test_an_installed_package_plugs_in_through_its_entry_point(tmp_path):
    """A distribution with an entry point in the group ganbench.plugins is imported by every process; its
    version (not a hash) is what trial ids and run.json record, and its files are not shipped."""
    (tmp_path / "fake_plugin.py").write_text(
        "from ganbench.losses import NonSaturating\nfrom ganbench.registry import LOSSES\n\n"
        "@LOSSES.register('installed_ns')\nclass Installed(NonSaturating):\n    '''An installed loss.'''\n")
    info = tmp_path / "fake_plugin-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-plugin\nVersion: 1.2.3\n")
    (info / "top_level.txt").write_text("fake_plugin\n")
    (info / "entry_points.txt").write_text("[ganbench.plugins]\nfake = fake_plugin\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    res = subprocess.run([sys.executable, str(ROOT / "bench.py"), "list", "losses"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "[plugin fake_plugin] An installed loss." in res.stdout, res.stderr
    script = ("from ganbench import plugins\nfrom ganbench.config import TrialConfig\n"
              "print(plugins.used_by(TrialConfig(model='mlp', loss='installed_ns', dataset='ring8')), "
              "plugins.runtime_env())")
    res = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=120)
    assert res.stdout.strip() == "{'fake_plugin': '1.2.3'} {}", res.stderr
