"""Hyperparameters say what they accept; a wrong value is one line naming it, from Python and the CLI."""

import pytest

from kzoo import hyperparameters as hp
from kzoo.errors import HyperparameterError


@pytest.mark.parametrize(
    "spec, value, expected",
    [
        (hp.Int(1, min=1), 64.0, 64),
        (hp.Int(None, min=0, optional=True), None, None),
        (hp.Float(1.0, min=0, min_exclusive=True), 3, 3.0),
        (hp.Bool(False), "yes", True),
        (hp.Bool(True), 0, False),
        (hp.Choice("a", ["a", "b"]), "b", "b"),
        (hp.Sequence(()), "1,2", ("1", "2")),
        (hp.ImageShape((28, 28, 1)), [32, 16, 3], (32, 16, 3)),
        (hp.ImageShape((28, 28, 1)), "32,16,1", (32, 16, 1)),
    ],
)
def test_values_that_fit_are_converted(spec, value, expected):
    assert spec.check("name", value) == expected


@pytest.mark.parametrize(
    "spec, value, message",
    [
        (hp.Int(1, min=1), "abc", "width must be an integer >= 1; got 'abc'"),
        (hp.Int(1, min=1), 0, "width must be an integer >= 1; got 0"),
        (hp.Int(1, min=1), 2.5, "width must be an integer >= 1; got 2.5"),
        (hp.Int(1), True, "width must be an integer; got True"),
        (hp.Float(1.0, min=0, min_exclusive=True), -1, "width must be a number > 0; got -1"),
        (hp.Float(0.5, min=0, max=1, max_exclusive=True), 1.0, "width must be a number >= 0 and < 1; got 1.0"),
        (hp.Float(0.5), float("nan"), "width must be a number; got nan"),
        (hp.Bool(True), "maybe", "width must be true or false; got 'maybe'"),
        (hp.Choice("a", ["a", "b"]), "c", "width must be one of 'a', 'b'; got 'c'"),
        (hp.ImageShape((28, 28, 1)), (28, 28, 2), "width must be (height, width, channels) with 1 or 3 channels"),
        (hp.ImageShape((28, 28, 1)), (28, 0, 1), "width must be (height, width, channels)"),
    ],
)
def test_a_wrong_value_is_one_line_naming_it(spec, value, message):
    with pytest.raises(HyperparameterError) as error:
        spec.check("width", value)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_plain_defaults_are_inferred_and_overrides_keep_limits():
    class Base:
        hyperparameters = {"width": hp.Int(64, min=1), "margin": 1.0, "flag": False, "anything": None}

    class Child(Base):
        hyperparameters = {"width": 8}

    specs = hp.merged(Child)
    assert specs["width"].default == 8 and specs["width"].describe() == "an integer >= 1"
    assert isinstance(specs["margin"], hp.Float) and specs["margin"].check("margin", 2) == 2.0
    assert isinstance(specs["flag"], hp.Bool)
    assert specs["anything"].check("anything", object) is object
    assert hp.merged(Base)["width"].default == 64  # the base class is untouched
    assert specs["width"].absent == 64  # a saved config without it had the first declared default


def test_models_check_their_hyperparameters():
    import kzoo
    from kzoo.models import DCGAN

    with pytest.raises(HyperparameterError, match="DCGAN: width must be an integer >= 1; got 'abc'"):
        DCGAN(width="abc")
    with pytest.raises(HyperparameterError, match="learning_rate must be a number > 0; got -1"):
        kzoo.create_model("dcgan", learning_rate=-1)
    with pytest.raises(HyperparameterError, match="ema_decay must be a number >= 0 and < 1"):
        kzoo.create_model("gan", ema_decay=1.0)
    model = DCGAN(width=2.0)  # a whole float is an integer: kept as one
    assert model.width == 2 and isinstance(model.width, int)
