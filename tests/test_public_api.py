"""The public surface, pinned: every name a user or a plugin may import, and every hook the README's plugin
guide documents, with the parameters it is called with.

A move inside kzoo must keep this file green; a public module that moves keeps its old import path as a
re-export. A name leaves this file only with a deprecation that a release note announces.
"""

import importlib
import inspect

import pytest

# kzoo's lazy top-level table (kzoo/__init__.py) and the eager names beside it.
TOP_LEVEL = [
    "AdversarialModel", "Player", "PlayersModel", "Step", "create_model", "input_gradient", "list_models",
    "load_model", "model_entry", "use_devices", "layers", "hyperparameters", "models", "data", "metrics",
    "distribution", "__version__",
]

# module -> names it must keep.
MODULES = {
    "kzoo.layers": ["ConvLayout", "Conv2DTranspose", "BatchNormalization", "SpectralNormalization",
                    "MinibatchStdDev", "Network", "conv_data_format"],
    "kzoo.models": ["AAE", "ACGAN", "CGAN", "ContextEncoder", "CycleGAN", "DCGAN", "GAN", "InfoGAN", "LSGAN",
                    "Pix2Pix", "RaGAN", "SNGAN", "VAE", "WGAN", "WGANGP"],
    "kzoo.models.blocks": ["dcgan_init", "mlp_generator", "mlp_discriminator", "conv_generator", "conv_features",
                           "conv_discriminator", "conv_classifier_discriminator", "infogan_generator",
                           "infogan_discriminator"],
    "kzoo.models.image_blocks": ["ReflectionPadding2D", "instance_normalization", "halvings", "unet_generator",
                                 "patch_discriminator", "resnet_generator", "context_encoder_generator",
                                 "conv_classifier", "conv_encoder", "conv_decoder", "code_discriminator"],
    "kzoo.models.objectives": ["cross_entropy_to", "squares_to", "mean_absolute"],
    "kzoo.models.translation": ["TranslationModel", "DIRECTIONS"],
    "kzoo.models.autoencoders": ["AutoencoderModel"],
    "kzoo.hyperparameters": ["Hyperparameter", "Int", "Float", "Bool", "Choice", "Flags", "Str", "Sequence",
                             "ImageShape", "inferred", "merged"],
    "kzoo.data": ["load", "describe", "check_fits", "DATASETS", "DEFAULT", "SPLITS", "IMAGE_EXTENSIONS"],
    "kzoo.metrics": ["COVERAGE_MIN_SHARE", "EVALUATOR_ID", "EvaluatorChecksumError", "build_evaluator", "class_kl",
                     "classifier_score", "coverage", "embed", "evaluate_images", "feature_statistics",
                     "frechet_distance", "heldout_indices", "kid", "load_evaluator", "load_info", "load_reference",
                     "precision_recall", "real_floor", "train_indices"],
    "kzoo.metrics.splits": ["SPLIT_SEED", "HELDOUT_SHA256", "heldout_indices", "train_indices", "heldout_images",
                            "train_images", "heldout_sha256", "load_mnist5k", "to_model_range"],
    "kzoo.metrics.translation": ["l1", "psnr", "ssim", "image_scores", "class_accuracy", "evaluate_translation",
                                 "evaluate_translation_model", "evaluate_autoencoder", "heldout_pairs",
                                 "heldout_images", "PSNR_MAX"],
    "kzoo.tasks": ["EDGES", "MASKED", "NOISY", "THICK", "PAIRED_TASKS", "UNPAIRED_TASKS", "TASKS", "HOLE_SIZE",
                   "ImagePairs", "edges", "thicken", "hole_box", "mask_centre", "degrade", "mean_colour", "is_task",
                   "describe", "load_pairs", "fit_arrays"],
    "kzoo.errors": ["KzooError", "UnknownModelError", "PluginError", "BackendError", "DatasetError",
                    "HyperparameterError", "RunError", "DistributionError"],
    "kzoo.registry": ["GROUP", "STRICT_ENV", "ModelEntry", "create_model", "entries", "is_strict", "list_models",
                      "load_model_class", "model_entry", "model_info", "problems", "refresh", "set_strict"],
    "kzoo.distribution": ["Cluster", "Placement", "use_devices", "current", "parse_devices", "ENVIRONMENT"],
    "kzoo.players": ["Player", "Step", "PlayersModel", "PlayerOptimizers"],
    "kzoo.adversarial": ["AdversarialModel"],
    "kzoo.saving": ["load_model", "save_model_atomically", "resolve_checkpoint", "read_model_config",
                    "read_checkpoint_info"],
    "kzoo.backend": ["BACKEND", "input_gradient", "minimize", "run_train_step", "set_seed"],
    "kzoo.backend_choice": ["BACKENDS", "canonical", "default", "installed", "is_installed", "use", "version"],
    "kzoo.images": ["to_uint8", "grid", "save_grid", "plot_losses"],
    "kzoo.stabilizers": ["AUGMENTATIONS", "diff_augment", "instance_noise", "pack", "top_k_gradients"],
    # The rooms the house gave the data, the pictures and the evaluation.
    "kzoo.data.specs": ["DEFAULT", "DATASETS", "SPLITS", "TASKS", "resolve", "describe", "task_name"],
    "kzoo.data.arrays": ["to_images", "to_labels", "check_fits"],
    "kzoo.data.readers": ["mnist5k", "npz_file", "image_folder", "images_under", "keras_dataset"],
    "kzoo.data.splits": ["heldout_indices", "train_indices", "heldout_images", "train_images", "split_arrays"],
    "kzoo.data.pairs": ["ImagePairs", "load_pairs", "fit_arrays", "heldout_pairs"],
    "kzoo.data.transforms": ["edges", "thicken", "hole_box", "mask_centre", "degrade", "mean_colour", "HOLE_SIZE"],
    "kzoo.pictures": ["to_uint8", "grid", "save_grid", "plot_losses"],
    "kzoo.evaluation": ["evaluate", "epoch_scores", "check_evaluable", "evaluate_generator",
                        "evaluate_translation_model", "evaluate_autoencoder", "heldout_images"],
    "kzoo.translate_files": ["read_inputs", "translate_files", "default_out"],
    "kzoo.translate": ["read_inputs", "translate_files", "default_out"],
    "kzoo.sampling": ["grid_samples"],
}

# Old paths that re-export what moved: the very same objects, so old code sees no difference.
MOVED = {
    "kzoo.tasks:load_pairs": "kzoo.data.pairs:load_pairs",
    "kzoo.tasks:edges": "kzoo.data.transforms:edges",
    "kzoo.tasks:ImagePairs": "kzoo.data.pairs:ImagePairs",
    "kzoo.metrics.splits:heldout_indices": "kzoo.data.splits:heldout_indices",
    "kzoo.metrics:train_indices": "kzoo.data.splits:train_indices",
    "kzoo.metrics.translation:ssim": "kzoo.metrics.pixels:ssim",
    "kzoo.metrics.translation:heldout_pairs": "kzoo.data.pairs:heldout_pairs",
    "kzoo.images:save_grid": "kzoo.pictures:save_grid",
    "kzoo.translate:translate_files": "kzoo.translate_files:translate_files",
    "kzoo.evaluation:evaluate_translation_model": "kzoo.metrics.translation:evaluate_translation_model",
}
# The hooks the README's plugin guide documents, with the parameters kzoo calls them with.
ADVERSARIAL_HOOKS = {
    "build_generator": [],
    "build_discriminator": [],
    "discriminator_loss": ["real_logits", "fake_logits"],
    "generator_loss": ["fake_logits"],
    "default_optimizers": [],
    "after_discriminator_step": [],
    "compute_discriminator_loss": ["real_images", "fake_images", "labels"],
    "compute_generator_loss": ["fake_images", "labels"],
    "discriminator_objective": ["step"],
    "generator_objective": ["step"],
    "prepare_discriminator_update": ["step"],
    "generate_fakes": ["latents", "labels"],
    "player_learning_rates": [],
    "discriminate": ["images", "labels"],
    "players": [],
}
PLAYERS_HOOKS = {"build_networks": [], "players": [], "default_optimizers": [], "begin_step": ["data"],
                 "sample": ["num", "seed", "labels", "batch_size", "raw"],
                 "preview_grid": ["num", "seed", "data", "label", "code", "raw"]}
PLAYER_FIELDS = ["name", "networks", "loss", "optimizer", "steps", "prepare", "after_update", "reports"]
# What a trained model offers, as the README's Python API shows it.
MODEL_METHODS = {
    "kzoo.adversarial:AdversarialModel": ["sample", "generate", "compile", "fit", "save"],
    "kzoo.models.autoencoders:AutoencoderModel": ["sample", "encode", "decode", "reconstruct"],
    "kzoo.models.translation:TranslationModel": ["translate", "check_direction", "translator"],
}


def _resolve(where):
    module, _, name = where.partition(":")
    return getattr(importlib.import_module(module), name)


def _parameters(function):
    return [name for name in inspect.signature(function).parameters if name != "self"]


@pytest.mark.parametrize("name", TOP_LEVEL)
def test_top_level_names(name):
    import kzoo

    assert getattr(kzoo, name) is not None
    assert name in dir(kzoo)


@pytest.mark.parametrize("module, names", sorted(MODULES.items()))
def test_every_public_module_keeps_its_names(module, names):
    imported = importlib.import_module(module)
    missing = [name for name in names if not hasattr(imported, name)]
    assert not missing, f"{module} lost {missing}"


@pytest.mark.parametrize("old, new", sorted(MOVED.items()))
def test_old_paths_give_the_moved_objects(old, new):
    assert _resolve(old) is _resolve(new)


@pytest.mark.parametrize("hook, parameters", sorted(ADVERSARIAL_HOOKS.items()))
def test_the_documented_gan_hooks_keep_their_parameters(hook, parameters):
    from kzoo import AdversarialModel

    assert _parameters(getattr(AdversarialModel, hook)) == parameters


@pytest.mark.parametrize("hook, parameters", sorted(PLAYERS_HOOKS.items()))
def test_the_documented_players_hooks_keep_their_parameters(hook, parameters):
    from kzoo import PlayersModel

    assert _parameters(getattr(PlayersModel, hook)) == parameters


def test_player_and_step_are_what_the_guide_says():
    import dataclasses

    from kzoo import Player, Step

    assert [f.name for f in dataclasses.fields(Player)] == PLAYER_FIELDS
    player = Player("d", ("discriminator",), loss=lambda step: 0.0)
    assert player.replace(steps=5).steps == 5 and player.optimizer_key == "d"
    step = Step(real=1, labels=None, batch_size=2)
    assert (step.real, step.labels, step.batch_size) == (1, None, 2)
    assert callable(step.log) and callable(step.share)


@pytest.mark.parametrize("where, methods", sorted(MODEL_METHODS.items()))
def test_model_methods(where, methods):
    module, _, name = where.partition(":")
    cls = getattr(importlib.import_module(module), name)
    assert [m for m in methods if not callable(getattr(cls, m, None))] == []


def test_gan_compile_takes_each_players_optimizer():
    from kzoo import AdversarialModel

    assert _parameters(AdversarialModel.compile)[:4] == ["d_optimizer", "g_optimizer", "optimizers", "jit_compile"]


def test_model_class_attributes_the_guide_names():
    from kzoo import AdversarialModel, PlayersModel

    declared = {"paper": None, "conditional": False, "num_classes": None, "trains_on": "images", "size_multiple": 1,
                "needs_second_order": False, "default_epochs": 5, "default_steps_per_epoch": None}
    assert {name: getattr(PlayersModel, name) for name in declared} == declared
    assert isinstance(PlayersModel.hyperparameters, dict)
    assert "d_steps" in AdversarialModel.default_hyperparameters()
    assert AdversarialModel.hyperparameter_specs()["d_steps"].default == 1


def test_input_gradient_is_the_backends():
    import kzoo
    from kzoo import backend

    assert kzoo.input_gradient is backend.input_gradient
