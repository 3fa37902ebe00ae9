"""What the plain variants (the same GAN written without Keras) share: eligibility and optimizer settings.

The plain loops exist for the built-in networks (DCGAN's convolutions, GAN's and CGAN's MLPs)
and losses, with Adam or RMSprop; `PlainVariant` refuses anything else with `Skip`.
"""

from _throughput.harness import LoopVariant, Skip


def _optimizer_settings(optimizer):
    """(kind, settings) of a Keras Adam or RMSprop, for re-creating it in plain torch / JAX."""
    import keras

    config = optimizer.get_config()
    ignored = [k for k in ("weight_decay", "clipnorm", "global_clipnorm", "clipvalue") if config.get(k)]
    if config.get("use_ema") or ignored:
        raise Skip(f"the plain loops do not re-implement optimizer options {ignored or ['use_ema']}")
    lr = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    if isinstance(optimizer, keras.optimizers.Adam) and not config.get("amsgrad"):
        return "adam", {"lr": lr, "beta_1": config["beta_1"], "beta_2": config["beta_2"], "epsilon": config["epsilon"]}
    if isinstance(optimizer, keras.optimizers.RMSprop) and not config.get("momentum") and not config.get("centered"):
        return "rmsprop", {"lr": lr, "rho": config["rho"], "epsilon": config["epsilon"]}
    raise Skip(f"the plain loops re-implement Adam and RMSprop only, not {optimizer.__class__.__name__} {config}")


class PlainVariant(LoopVariant):
    name = "plain"

    def __init__(self, spec, model):
        super().__init__(spec)
        if spec.architecture is None or spec.loss_kind is None:
            raise Skip("plain loops exist for the built-in networks and losses only")
        if spec.custom_losses:
            raise Skip("the model overrides compute_*_loss")
        hp = spec.hyperparameters
        self.h, self.w, self.c = spec.image_shape
        self.width = int(hp["width"])
        self.dropout = float(hp.get("dropout", 0.0) or 0.0)
        self.num_classes = int(hp["num_classes"]) if spec.architecture == "mlp_conditional" else 0
        self.kernel = 5  # kzoo.models.blocks' default, used by every built-in conv model
        self.d_settings = _optimizer_settings(model.d_optimizer)
        self.g_settings = _optimizer_settings(model.g_optimizer)
