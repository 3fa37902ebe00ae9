"""The model registry: discovery, static checks, broken plugins, conflicts, strict mode, loading.

Plugins here are fake distributions written to a tmp dir (a NAME-VER.dist-info folder with METADATA
and entry_points.txt, plus module files) and put on sys.path. Discovery and listing need no keras.
Loading does (the factory imports kzoo.players), but the fake models stand on a fake base in place of
kzoo.PlayersModel, so they build no networks; `test_hinge_plugin_losses` loads the example plugin's real class.
"""

import importlib
import importlib.abc
import importlib.machinery
import logging
import sys
import textwrap
from pathlib import Path

import pytest

import kzoo
from kzoo import registry
from kzoo.errors import PluginError, UnknownModelError

BUILTINS = ["cgan", "dcgan", "gan", "lsgan", "wgan"]
REPO = Path(__file__).resolve().parent.parent
HEAVY = {"keras", "tensorflow", "torch", "jax", "jaxlib"}


@pytest.fixture
def site(tmp_path, monkeypatch):
    """Builds fake distributions on sys.path; leaves the registry and sys.modules as they were."""
    monkeypatch.delenv(registry.STRICT_ENV, raising=False)
    registry.set_strict(None)
    before = set(sys.modules)

    class Site:
        def add_dist(self, name, version="1.0", entry_points=(), modules=None, where="site"):
            """Writes NAME-VERSION.dist-info and `modules` ({relative path: source}) under tmp/where."""
            root = tmp_path / where
            dist_info = root / f"{name.replace('-', '_')}-{version}.dist-info"
            dist_info.mkdir(parents=True, exist_ok=True)
            (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
            lines = "".join(f"{ep_name} = {value}\n" for ep_name, value in dict(entry_points).items())
            (dist_info / "entry_points.txt").write_text(f"[{registry.GROUP}]\n{lines}")
            for relative, source in (modules or {}).items():
                path = root / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(textwrap.dedent(source))
            self.on_path(root)
            return root

        def on_path(self, path):
            if str(path) not in sys.path:
                monkeypatch.syspath_prepend(str(path))
            registry.refresh()

    yield Site()
    registry.set_strict(None)
    for name in set(sys.modules) - before:
        if str(getattr(sys.modules[name], "__file__", "") or "").startswith(str(tmp_path)):
            del sys.modules[name]
    monkeypatch.undo()
    registry.refresh()


@pytest.fixture
def fake_base(site, monkeypatch):
    """Stands in for kzoo.PlayersModel, the base that loading checks, so that a fake model builds no networks."""
    site.add_dist(
        "fake-base",
        modules={
            # What the factory reads of kzoo.PlayersModel, declared the same way (kzoo.hyperparameters needs no keras).
            "fake_base_mod.py": """
                from kzoo import hyperparameters as hp

                class FakeBase:
                    hyperparameters = {"width": hp.Int(8, min=1, help="network size")}
                    paper = None
                    conditional = False
                    default_epochs = 5
                    default_steps_per_epoch = None

                    @classmethod
                    def hyperparameter_specs(cls):
                        return hp.merged(cls)

                    @classmethod
                    def default_hyperparameters(cls):
                        return {name: spec.default for name, spec in cls.hyperparameter_specs().items()}

                    def __init__(self, **hyperparameters):
                        unknown = set(hyperparameters) - set(self.default_hyperparameters())
                        if unknown:
                            raise TypeError(f"unknown {unknown}")
                        self.kwargs = hyperparameters
                        self.compiled = False

                    def compile(self):
                        self.compiled = True
            """
        },
    )
    from kzoo.registry import factory

    monkeypatch.setattr(factory, "PlayersModel", importlib.import_module("fake_base_mod").FakeBase)
    return site


# ------------------------------------------------------------------------------ built-ins
def test_builtins_are_listed_with_origin_builtin(site):
    names = registry.list_models()
    assert set(BUILTINS) <= set(names)
    for name in BUILTINS:
        entry = registry.model_entry(name)
        assert entry.builtin and entry.origin == "built-in"
        assert entry.distribution == "kzoo" and entry.error is None
        assert entry.description and entry.paper  # read from the source, no import
    assert registry.model_entry("cgan").conditional is True
    assert registry.model_entry("dcgan").conditional is False  # inherited from AdversarialModel
    assert kzoo.list_models is registry.list_models and kzoo.model_entry is registry.model_entry


def test_pattern_filtering_is_fnmatch_case_insensitive_and_naturally_sorted(site):
    assert set(BUILTINS) <= set(registry.list_models("*gan"))
    assert registry.list_models("dc*") == ["dcgan"]
    assert registry.list_models("DC*") == ["dcgan"]
    assert registry.list_models(["dc*", "ls*"]) == ["dcgan", "lsgan"]
    assert registry.list_models("no-such-*") == []
    site.add_dist("kzoo-numbers", entry_points={f"num{i}": f"numbers_mod:M{i}" for i in (10, 2, 1)},
                  modules={"numbers_mod.py": "class M1: pass\nclass M2: pass\nclass M10: pass\n"})
    assert registry.list_models("num*") == ["num1", "num2", "num10"]


# --------------------------------------------------------------------------------- plugins
def test_plugin_appears_without_being_imported(site):
    site.add_dist(
        "kzoo-fake-plugin",
        "0.3.1",
        entry_points={"fake-gan": "fake_plugin.models.fake:FakeGAN"},
        modules={
            # Discovery must run no package __init__ and no plugin module.
            "fake_plugin/__init__.py": "raise RuntimeError('package __init__ must not run at discovery')\n",
            "fake_plugin/models/__init__.py": "raise RuntimeError('must not run')\n",
            "fake_plugin/models/fake.py": '''
                import os
                from collections import OrderedDict

                raise RuntimeError("module must not run at discovery")

                class FakeGAN:
                    """A fake GAN for the registry tests.

                    More text that the listing does not show.
                    """

                    paper = "Nobody 2024, Fake GANs"
                    conditional = True
            ''',
        },
    )
    assert "fake-gan" in registry.list_models()
    assert "fake-gan" in registry.list_models("*gan")
    entry = registry.model_entry("fake-gan")
    assert (entry.distribution, entry.version, entry.builtin, entry.origin) == (
        "kzoo-fake-plugin", "0.3.1", False, "plugin")
    assert entry.description == "A fake GAN for the registry tests."
    assert entry.paper == "Nobody 2024, Fake GANs" and entry.conditional is True
    assert entry.error is None
    assert registry.model_entry("FAKE_GAN") is entry  # case and -/_ insensitive lookup
    assert [e.name for e in registry.entries() if e.name == "fake-gan"] == ["fake-gan"]
    assert not any(m.startswith("fake_plugin") for m in sys.modules)


def test_description_of_a_re_exported_class(site):
    site.add_dist(
        "kzoo-reexport",
        entry_points={"reexport-gan": "reexport_pkg:Model"},
        modules={
            "reexport_pkg/__init__.py": "from .impl import Model as Model\n\n__all__ = ['Model']\n",
            "reexport_pkg/impl.py": 'from reexport_pkg.base import Base\n\nclass Model(Base):\n    """Re-exported."""\n',
            "reexport_pkg/base.py": 'class Base:\n    paper = "Base 2001"\n    conditional = True\n',
        },
    )
    entry = registry.model_entry("reexport-gan")
    assert (entry.error, entry.description, entry.paper, entry.conditional) == (None, "Re-exported.", "Base 2001", True)


def test_refresh_picks_up_a_new_plugin(site):
    assert "late-gan" not in registry.list_models()
    site.add_dist("kzoo-late", entry_points={"late-gan": "late_mod:Late"}, modules={"late_mod.py": "class Late: pass\n"})
    assert "late-gan" in registry.list_models()


def test_modules_found_through_a_meta_path_finder(site, tmp_path, monkeypatch):
    """setuptools' editable installs of flat layouts serve the top-level package from a meta-path finder."""
    hidden = tmp_path / "hidden"
    (hidden / "metapkg").mkdir(parents=True)
    (hidden / "metapkg" / "__init__.py").write_text("raise RuntimeError('must not run')\n")
    (hidden / "metapkg" / "model.py").write_text('class M:\n    """Served by a meta-path finder."""\n')

    class Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path, target=None):
            if fullname == "metapkg":
                return importlib.machinery.PathFinder.find_spec(fullname, [str(hidden)])
            return None

    monkeypatch.setattr(sys, "meta_path", [*sys.meta_path, Finder()])
    site.add_dist("kzoo-meta", entry_points={"meta-gan": "metapkg.model:M"})
    entry = registry.model_entry("meta-gan")
    assert entry.error is None and entry.description == "Served by a meta-path finder."


# --------------------------------------------------------------------------- broken plugins
BROKEN_MODULES = {
    "shaky/__init__.py": "",
    "shaky/missing_dep.py": "import os\nimport a_module_that_does_not_exist.sub\n\nclass Model:\n    pass\n",
    "shaky/func.py": "def make_model():\n    return None\n",
    "shaky/literal.py": "Model = 42\n",
    "shaky/syntax.py": "class Model(:\n",
    "shaky/noattr.py": "class Other:\n    pass\n",
    "shaky/dynamic.py": "import types\nModel = types.new_class('Model')\n",
    "shaky/optional.py": "try:\n    import a_module_that_does_not_exist\nexcept ImportError:\n    pass\n\nclass Model:\n    pass\n",
    "shaky/good.py": 'class Model:\n    """Still works."""\n',
}
BROKEN_ENTRY_POINTS = {
    "broken-dep": "shaky.missing_dep:Model",
    "broken-func": "shaky.func:make_model",
    "broken-literal": "shaky.literal:Model",
    "broken-syntax": "shaky.syntax:Model",
    "broken-noattr": "shaky.noattr:Model",
    "broken-nomodule": "shaky.nowhere:Model",
    "broken-value": "shaky good Model",
    "shaky-dynamic": "shaky.dynamic:Model",
    "shaky-optional": "shaky.optional:Model",
    "shaky-good": "shaky.good:Model",
}


def test_broken_plugins_are_reported_and_skipped(site, caplog):
    site.add_dist("kzoo-shaky", "0.2.0", entry_points=BROKEN_ENTRY_POINTS, modules=BROKEN_MODULES)
    with caplog.at_level(logging.WARNING, logger="kzoo.registry"):
        names = registry.list_models()
    assert set(BUILTINS) <= set(names)
    # Imported or assigned otherwise: accepted now, checked at load time.
    assert {"shaky-good", "shaky-dynamic", "shaky-optional"} <= set(names)
    assert not any(name.startswith("broken-") for name in names)
    assert {n for n in BROKEN_ENTRY_POINTS if n.startswith("broken-")} <= set(
        registry.list_models("broken-*", include_broken=True))

    errors = {p.name: p for p in registry.problems() if p.distribution == "kzoo-shaky"}
    assert set(errors) == {n for n in BROKEN_ENTRY_POINTS if n.startswith("broken-")}
    assert "No module named 'a_module_that_does_not_exist'" in errors["broken-dep"].error
    assert "not a model class" in errors["broken-func"].error and "function" in errors["broken-func"].error
    assert "not a model class" in errors["broken-literal"].error
    assert errors["broken-syntax"].error.startswith("SyntaxError")
    assert "has no attribute 'Model'" in errors["broken-noattr"].error
    assert "No module named 'shaky.nowhere'" in errors["broken-nomodule"].error
    assert "malformed entry point" in errors["broken-value"].error
    for problem in errors.values():
        line = problem.report()
        assert "\n" not in line and line[0].islower()
        assert f"'{problem.name}'" in line and "kzoo-shaky 0.2.0" in line and problem.error in line
    assert registry.model_entry("broken-dep") == errors["broken-dep"]
    logged = [r.getMessage() for r in caplog.records if r.name == "kzoo.registry"]
    assert any("broken-dep" in m and "kzoo-shaky 0.2.0" in m for m in logged)
    assert "shaky" not in sys.modules  # nothing was imported

    with pytest.raises(PluginError) as info:
        registry.load_model_class("broken-dep")
    message = str(info.value)
    assert message.startswith("plugin model 'broken-dep' from distribution 'kzoo-shaky 0.2.0' failed to load: "
                              "ModuleNotFoundError: No module named 'a_module_that_does_not_exist'")
    assert "pip uninstall kzoo-shaky" in message and "\n" not in message
    with pytest.raises(PluginError):
        registry.create_model("broken-func")


def test_vendored_imports_are_not_reported(site):
    """A package whose __init__ puts its vendored copies on sys.path (as setuptools does) is checked at load time."""
    site.add_dist(
        "kzoo-vendoring",
        entry_points={"vendoring-gan": "vendoring.model:Model"},
        modules={
            "vendoring/__init__.py": "import os, sys\nsys.path.append(os.path.join(os.path.dirname(__file__), '_vendor'))\n",
            "vendoring/_vendor/only_vendored.py": "",
            "vendoring/model.py": "import only_vendored\n\nclass Model:\n    pass\n",
        },
    )
    assert registry.model_entry("vendoring-gan").error is None


def test_load_time_failures_are_reported_and_skipped(fake_base):
    fake_base.add_dist(
        "kzoo-late-break",
        "3.0",
        entry_points={"boom": "boom_mod:Model", "plain": "plain_mod:Model", "fine": "fine_mod:Model"},
        modules={
            "boom_mod.py": "raise RuntimeError('boom at import')\nclass Model:\n    pass\n",
            "plain_mod.py": "class Model:\n    pass\n",  # not a subclass of the model base
            "fine_mod.py": "from fake_base_mod import FakeBase\n\nclass Model(FakeBase):\n    pass\n",
        },
    )
    assert {"boom", "plain", "fine"} <= set(registry.list_models())
    with pytest.raises(PluginError, match=r"'boom' from distribution 'kzoo-late-break 3.0' failed to load: "
                                          r"RuntimeError: boom at import") as info:
        registry.load_model_class("boom")
    assert isinstance(info.value.__cause__, RuntimeError)
    with pytest.raises(PluginError, match="not a model class"):
        registry.create_model("plain")
    listed = registry.list_models()
    assert "boom" not in listed and "plain" not in listed and "fine" in listed
    assert {"boom", "plain"} <= {p.name for p in registry.problems()}
    with pytest.raises(PluginError, match="boom at import"):  # stays broken, without importing again
        registry.load_model_class("boom")
    assert registry.create_model("fine").compiled


def test_strict_mode(site, monkeypatch):
    site.add_dist("kzoo-shaky", "0.2.0", entry_points=BROKEN_ENTRY_POINTS, modules=BROKEN_MODULES)
    registry.list_models()  # lenient by default

    monkeypatch.setenv(registry.STRICT_ENV, "1")
    for call in (registry.list_models, registry.problems, registry.entries):
        with pytest.raises(PluginError, match="strict plugin mode: .*failed to load") as info:
            call()
        assert "\n" not in str(info.value)
    registry.set_strict(False)  # the API overrides the environment
    assert "shaky-good" in registry.list_models()
    monkeypatch.delenv(registry.STRICT_ENV)
    registry.set_strict(True)
    with pytest.raises(PluginError, match="strict plugin mode"):
        registry.list_models()
    registry.set_strict(None)
    assert registry.is_strict() is False
    assert "shaky-good" in registry.list_models()


# ------------------------------------------------------------------------ conflicts, duplicates
def test_two_distributions_claiming_one_name_conflict(site):
    module = {"twin_{0}.py": 'class Model:\n    """Twin {0}."""\n'}
    site.add_dist("kzoo-alpha", "1.0", entry_points={"twin-gan": "twin_a:Model", "alpha-only": "twin_a:Model"},
                  modules={k.format("a"): v.format("a") for k, v in module.items()}, where="a")
    site.add_dist("kzoo-beta", "2.5", entry_points={"Twin_GAN": "twin_b:Model"},
                  modules={k.format("b"): v.format("b") for k, v in module.items()}, where="b")
    names = registry.list_models()
    assert "twin-gan" not in names and "Twin_GAN" not in names
    assert "alpha-only" in names and set(BUILTINS) <= set(names)  # everything else keeps working
    assert "twin-gan" in registry.list_models(include_broken=True)

    entry = registry.model_entry("twin-gan")
    assert entry.error and "kzoo-alpha 1.0" in entry.error and "kzoo-beta 2.5" in entry.error
    conflicts = [p for p in registry.problems() if p.conflict_with]
    assert {p.distribution for p in conflicts} == {"kzoo-alpha", "kzoo-beta"}
    for call in (registry.load_model_class, registry.create_model):
        with pytest.raises(PluginError) as info:
            call("twin-gan")
        message = str(info.value)
        assert "kzoo-alpha 1.0" in message and "kzoo-beta 2.5" in message
        assert "uninstall one of them" in message and "\n" not in message
    assert "twin_a" not in sys.modules and "twin_b" not in sys.modules


def test_a_plugin_cannot_take_a_builtin_name(site):
    site.add_dist("kzoo-usurper", "0.1", entry_points={"dcgan": "usurper_mod:Model"},
                  modules={"usurper_mod.py": "class Model:\n    pass\n"})
    assert "dcgan" not in registry.list_models() and "gan" in registry.list_models()
    with pytest.raises(PluginError, match=r"kzoo 0\.1\.0.*kzoo-usurper 0\.1.*built-in name: `pip uninstall kzoo-usurper`$"):
        registry.load_model_class("dcgan")


def test_same_distribution_on_two_paths_is_listed_once(site, tmp_path):
    for where in ("first", "second"):
        site.add_dist("kzoo-twice", "1.0", entry_points={"twice-gan": "twice_mod:Model"},
                      modules={"twice_mod.py": "class Model:\n    pass\n"}, where=where)
    assert registry.list_models("twice*") == ["twice-gan"]
    assert not [p for p in registry.problems() if p.name == "twice-gan"]
    assert registry.model_entry("twice-gan").error is None


# ----------------------------------------------------------------------------- unknown names
def test_unknown_model_suggests_the_nearest_names(site):
    with pytest.raises(UnknownModelError) as info:
        registry.create_model("dcgn")
    assert str(info.value).startswith("unknown model 'dcgn'; did you mean: dcgan")
    assert isinstance(info.value, KeyError)
    with pytest.raises(UnknownModelError, match="kzoo list"):
        registry.load_model_class("completely-different-name")
    with pytest.raises(UnknownModelError):
        registry.model_entry("dcgn")
    with pytest.raises(UnknownModelError):
        registry.model_info("dcgn")


# ---------------------------------------------------------------------------------- loading
def test_create_model_drops_none_and_compiles(fake_base):
    fake_base.add_dist(
        "kzoo-tiny",
        "0.1",
        entry_points={"tiny": "tiny_mod:Tiny"},
        modules={
            "tiny_mod.py": '''
                from fake_base_mod import FakeBase

                class Tiny(FakeBase):
                    """A tiny model."""

                    hyperparameters = {"depth": 2, "name": None}
                    paper = "Tiny et al. 2020"
                    default_epochs = 12
                    default_steps_per_epoch = 100
            '''
        },
    )
    assert "tiny_mod" not in sys.modules  # listing imports nothing
    model = registry.create_model("tiny", width=None, depth=3, name="mine")
    assert model.kwargs == {"depth": 3, "name": "mine"}  # width=None left to the default
    assert model.compiled
    cls = registry.load_model_class("tiny")
    assert type(model) is cls and registry.load_model_class("TINY") is cls  # cached
    info = registry.model_info("tiny")
    assert info == {
        "name": "tiny", "origin": "plugin", "distribution": "kzoo-tiny", "version": "0.1",
        "value": "tiny_mod:Tiny", "description": "A tiny model.", "paper": "Tiny et al. 2020",
        "conditional": False, "hyperparameters": {"width": 8, "depth": 2, "name": None},
        "default_epochs": 12, "default_steps_per_epoch": 100,  # the class's own, over the base's
        "hyperparameter_details": {
            "width": {"accepts": "an integer >= 1", "help": "network size"},  # declared on the base
            "depth": {"accepts": "an integer", "help": None},  # a plain default: its kind inferred
            "name": {"accepts": "any value", "help": None},
        },
    }
    entry = registry.model_entry("tiny")  # after loading, the entry reflects the class itself
    assert (entry.description, entry.paper, entry.conditional) == ("A tiny model.", "Tiny et al. 2020", False)


# ---------------------------------------------------------------------------- the example plugins
def _checkout_dist(site, dist, entry_points, plugin_dir):
    """Registers a plugin folder of this repo from source, under names that can't clash with an installed copy."""
    site.add_dist(dist, "0.0.0", entry_points=entry_points, where=dist)
    site.on_path(REPO / "plugins" / plugin_dir)


def test_example_plugins_static_check(site):
    _checkout_dist(site, "kzoo-hinge-gan-checkout", {"hinge-checkout": "kzoo_hinge_gan:HingeDCGAN"}, "kzoo-hinge-gan")
    _checkout_dist(site, "kzoo-broken-checkout", {
        "broken-import-checkout": "kzoo_broken_plugin.missing_dep:Model",
        "not-a-model-checkout": "kzoo_broken_plugin.not_a_model:make_model",
    }, "kzoo-broken-plugin")
    hinge = registry.model_entry("hinge-checkout")
    assert hinge.error is None and hinge.description and "hinge" in hinge.description.lower()
    assert hinge.paper == "Lim & Ye 2017, Geometric GAN (arXiv:1705.02894)"
    assert hinge.conditional is False  # DCGAN's, found through kzoo.models in the source
    assert "No module named 'a_module_that_does_not_exist'" in registry.model_entry("broken-import-checkout").error
    assert "not a model class" in registry.model_entry("not-a-model-checkout").error


def test_hinge_plugin_losses(site):
    pytest.importorskip("keras")
    import numpy as np
    from keras import ops

    had = "kzoo_hinge_gan" in sys.modules
    try:
        _checkout_dist(site, "kzoo-hinge-gan-checkout", {"hinge-checkout": "kzoo_hinge_gan:HingeDCGAN"},
                       "kzoo-hinge-gan")
        cls = registry.load_model_class("hinge-checkout")
        from kzoo.models import DCGAN

        assert issubclass(cls, DCGAN)
        assert set(cls.__dict__) & {"build_generator", "build_discriminator", "compile", "train_step"} == set()
        real = ops.convert_to_tensor(np.array([[2.0], [-1.0]], "float32"))
        fake = ops.convert_to_tensor(np.array([[-2.0], [0.5]], "float32"))
        # D: mean(relu(1 - real)) + mean(relu(1 + fake)) = mean(0, 2) + mean(0, 1.5); G: -mean(fake).
        assert float(ops.convert_to_numpy(cls.discriminator_loss(None, real, fake))) == pytest.approx(1.75)
        assert float(ops.convert_to_numpy(cls.generator_loss(None, fake))) == pytest.approx(0.75)
        info = registry.model_info("hinge-checkout")
        assert info["hyperparameters"] == DCGAN.default_hyperparameters()
    finally:
        if not had:
            sys.modules.pop("kzoo_hinge_gan", None)
