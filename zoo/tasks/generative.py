"""Generative tasks trained adversarially (zoo.training.steps.adversarial).

A GAN model is one keras.Model with the sub-models "generator" and "discriminator" as layers,
taking {"image": x, "noise": z} and returning {"generated": G(z), "real": D(x), "fake": D(G(z))}
(discriminator logits). Training draws z inside the step; evaluation draws it in the input
pipeline from each example's content, so an evaluation sees the same noise every time.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from zoo.errors import ConfigError
from zoo.tasks.base import Evaluator, Task, model_input


def noise_shape(model) -> tuple:
    """The shape of one noise vector: the generator's input."""
    return tuple(int(d) for d in model.get_layer("generator").inputs[0].shape[1:])


def gan_losses(real_logits, fake_logits, global_batch_size):
    """(discriminator loss, generator loss), each summed over this replica's examples / the global
    batch: the discriminator's cross-entropy on real (1) and generated (0) examples, and the
    non-saturating generator loss -log D(G(z)) (Goodfellow et al. 2014, §3)."""
    real = tf.cast(real_logits, tf.float32)
    fake = tf.cast(fake_logits, tf.float32)
    d = tf.reduce_sum(tf.nn.softplus(-real)) + tf.reduce_sum(tf.nn.softplus(fake))
    g = tf.reduce_sum(tf.nn.softplus(-fake))
    return d / global_batch_size, g / global_batch_size


class AdversarialEvaluator(Evaluator):
    """The mean GAN losses over the split and how often the discriminator is right on real and on
    generated examples (a sample-quality metric such as a two-sample test is for later)."""

    def __init__(self):
        self.sums = {"discriminator_loss": 0.0, "generator_loss": 0.0, "real_accuracy": 0.0, "fake_accuracy": 0.0}
        self.count = 0

    def update(self, outputs, targets):
        real, fake = np.asarray(outputs["real"], np.float64), np.asarray(outputs["fake"], np.float64)
        n = real.shape[0]
        d, g = gan_losses(real, fake, 1)
        self.sums["discriminator_loss"] += float(d)
        self.sums["generator_loss"] += float(g)
        self.sums["real_accuracy"] += float(np.sum(real > 0))
        self.sums["fake_accuracy"] += float(np.sum(fake < 0))
        self.count += n

    def result(self) -> dict:
        return {k: v / max(self.count, 1) for k, v in self.sums.items()}


class AdversarialGeneration(Task):
    """An unconditional GAN on the contract's source feature ("image"): x is the example, the
    target unused; {"discriminator": its loss, "generator": its loss} for the adversarial step."""

    name = "adversarial_generation"
    metrics = ("discriminator_loss", "generator_loss", "real_accuracy", "fake_accuracy")
    step = "adversarial"

    def __init__(self, noise=None, seed=0):
        self.noise, self.seed = noise, seed

    def bind(self, recipe, info, load, model=None):
        return AdversarialGeneration(noise_shape(model) if model is not None else None, recipe.train.seed)

    def example_to_xy(self, contract):
        make_input = model_input(contract)
        return lambda ex: (make_input(ex), tf.zeros([], tf.int32))

    def eval_example_to_xy(self, contract):
        if self.noise is None:
            raise ConfigError("evaluating a GAN draws noise of the generator's input shape: bind the task to the model")
        make_input, shape, seed = model_input(contract), self.noise, self.seed

        def to_xy(ex):
            x = make_input(ex)
            content = tf.strings.to_hash_bucket_fast(tf.io.serialize_tensor(x), 2**62)
            z = self.draw_noise(shape, tf.stack([tf.constant(seed, tf.int64), content]))
            return {"image": x, "noise": z}, tf.zeros([], tf.int32)

        return to_xy

    def draw_noise(self, shape, seed):
        """p_Z: N(0, 1) per dimension (dcgan.torch's default)."""
        return tf.random.stateless_normal(shape, seed)

    def adversarial_losses(self, model, batch, *, seed, global_batch_size):
        x, _ = batch
        z = self.draw_noise([tf.shape(x)[0], *noise_shape(model)], seed)
        outputs = model({"image": x, "noise": z}, training=True)
        d, g = gan_losses(outputs["real"], outputs["fake"], global_batch_size)
        return {"discriminator": d, "generator": g}

    def evaluator(self, model, ignore_label=255, eval_cfg=None):
        return AdversarialEvaluator()


def latent_regression_loss(code_logits, z, global_batch_size):
    """The latent regressor's loss (Donahue thesis §5.3.1): sigmoid cross-entropy between E(G(z))
    read as logits and (z + 1) / 2, the U(-1, 1) code mapped to [0, 1]; mean over the code's
    dimensions, summed over this replica's examples / the global batch."""
    per_dim = tf.nn.sigmoid_cross_entropy_with_logits(labels=(tf.cast(z, tf.float32) + 1.0) / 2.0,
                                                      logits=tf.cast(code_logits, tf.float32))
    return tf.reduce_sum(tf.reduce_mean(per_dim, axis=-1)) / global_batch_size


class BiGANTraining(AdversarialGeneration):
    """BiGAN (Donahue thesis §5.2, §5.2.4) on a model with sub-models "encoder", "generator" and
    "discriminator" (zoo.models.bigan), with z ~ U(-1, 1)^d.

    With a joint discriminator D(x, z) (two inputs): D ascends V = E_x log D(x, E(x)) +
    E_z log(1 - D(G(z), z)) and G and E ascend the "inverse" objective with the labels swapped,
    E_x log(1 - D(x, E(x))) + E_z log D(G(z), z) (§5.2.4), each from the same forward pass.
    With a standard D(x) (the JLR baseline, §5.3.1): the GAN losses for D and G (non-saturating,
    i.e. the same label swap) and the latent regressor's loss on E(G(z)) for E, trained jointly.
    The adversarial step's `simultaneous` updates are the thesis's.
    """

    name = "bigan"

    def bind(self, recipe, info, load, model=None):
        return BiGANTraining(noise_shape(model) if model is not None else None, recipe.train.seed)

    def draw_noise(self, shape, seed):
        """p_Z = U(-1, 1)^d (§5.3.2)."""
        return tf.random.stateless_uniform(shape, seed, minval=-1.0, maxval=1.0)

    def adversarial_losses(self, model, batch, *, seed, global_batch_size):
        x, _ = batch
        z = self.draw_noise([tf.shape(x)[0], *noise_shape(model)], seed)
        outputs = model({"image": x, "noise": z}, training=True)
        d, inverse = gan_losses(outputs["real"], outputs["fake"], global_batch_size)
        if len(model.get_layer("discriminator").inputs) == 2:  # BiGAN: labels swapped for G and E
            real = tf.cast(outputs["real"], tf.float32)
            inverse = inverse + tf.reduce_sum(tf.nn.softplus(real)) / global_batch_size
            return {"discriminator": d, "generator": inverse, "encoder": inverse}
        code = model.get_layer("encoder")(tf.stop_gradient(outputs["generated"]), training=True)
        return {"discriminator": d, "generator": inverse, "encoder": latent_regression_loss(code, z, global_batch_size)}


class ReconstructionEvaluator(Evaluator):
    """Mean per-example reconstruction error |x - G(E(x))|_p^p (summed over pixels) over the split."""

    def __init__(self, model, norm):
        self.generator, self.norm = model.get_layer("generator"), norm
        self.total, self.count = 0.0, 0

    def update(self, outputs, targets):
        x = np.asarray(targets, np.float64)
        rebuilt = np.asarray(self.generator(outputs["encoded"], training=False), np.float64)
        diff = np.abs(x - rebuilt.reshape(x.shape)).reshape(len(x), -1)
        self.total += float(np.sum(diff ** 2 if self.norm == "l2" else diff))
        self.count += len(x)

    def result(self) -> dict:
        return {f"reconstruction_{self.norm}": self.total / max(self.count, 1)}


class Autoencoder(BiGANTraining):
    """The l2 / l1 autoencoder baselines of BiGAN (Donahue thesis §5.3.1): E and G of the BiGAN model
    trained as x -> E(x) -> G(E(x)) on the reconstruction error, "with the same architecture and
    optimizer"; D takes no part (a recipe freezes it: model.options.trainable = ["encoder", "generator"],
    step.critics = []). The loss per example is |x - G(E(x))|_p^p summed over pixels (the thesis does not
    say sum or mean; the sum keeps the gradient scale independent of the image size's bookkeeping)."""

    step = "adversarial"

    def __init__(self, norm="l2", noise=None, seed=0):
        super().__init__(noise, seed)
        self.norm = norm
        self.name = f"autoencoder_{norm}"
        self.metrics = (f"reconstruction_{norm}",)

    def bind(self, recipe, info, load, model=None):
        return Autoencoder(self.norm, noise_shape(model) if model is not None else None, recipe.train.seed)

    def eval_example_to_xy(self, contract):
        to_xy = super().eval_example_to_xy(contract)

        def with_image_target(ex):
            inputs, _ = to_xy(ex)
            return inputs, inputs["image"]

        return with_image_target

    def adversarial_losses(self, model, batch, *, seed, global_batch_size):
        x, _ = batch
        x = tf.cast(x, tf.float32)
        rebuilt = tf.reshape(tf.cast(model.get_layer("generator")(model.get_layer("encoder")(x, training=True),
                                                                  training=True), tf.float32), tf.shape(x))
        diff = tf.reshape(x - rebuilt, [tf.shape(x)[0], -1])
        per_example = tf.reduce_sum(tf.square(diff) if self.norm == "l2" else tf.abs(diff), axis=1)
        loss = tf.reduce_sum(per_example) / global_batch_size
        return {"encoder": loss, "generator": loss}

    def evaluator(self, model, ignore_label=255, eval_cfg=None):
        return ReconstructionEvaluator(model, self.norm)


def code_categories(model) -> int:
    """K, the size of the one-hot part of z, from the generator's code_scale layer."""
    return model.get_layer("generator").get_layer("code_scale").categories


def discrete_prior(shape, seed, categories):
    """z = [one-hot(categories) uniform over the categories, U(-1, 1)^rest] (Donahue thesis ch. 6)."""
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 2)
    index = tf.random.stateless_uniform(shape[:-1], seeds[0], minval=0, maxval=categories, dtype=tf.int32)
    rest = tf.random.stateless_uniform([*shape[:-1], shape[-1] - categories], seeds[1], minval=-1.0, maxval=1.0)
    return tf.concat([tf.one_hot(index, categories), rest], axis=-1)


def discrete_code_loss(code_logits, z, categories, global_batch_size):
    """E's loss on E(G(z)) for z = [one-hot, continuous]: softmax cross-entropy on the categorical
    part plus the latent regressor's sigmoid cross-entropy on the continuous part."""
    code = tf.cast(code_logits, tf.float32)
    z = tf.cast(z, tf.float32)
    categorical = tf.nn.softmax_cross_entropy_with_logits(labels=z[:, :categories], logits=code[:, :categories])
    loss = tf.reduce_sum(categorical) / global_batch_size
    if code.shape[-1] > categories:
        loss += latent_regression_loss(code[:, categories:], z[:, categories:], global_batch_size)
    return loss


class DiscreteCodeEvaluator(AdversarialEvaluator):
    """The GAN metrics plus the purity and NMI of E's categorical code (argmax) against the labels."""

    def __init__(self, categories):
        super().__init__()
        self.categories, self.codes, self.labels = categories, [], []

    def update(self, outputs, targets):
        super().update(outputs, targets)
        self.codes.append(np.argmax(np.asarray(outputs["encoded"])[:, :self.categories], axis=-1))
        self.labels.append(np.asarray(targets).ravel())

    def result(self) -> dict:
        from zoo.metrics.clustering import nmi, purity

        codes, labels = np.concatenate(self.codes), np.concatenate(self.labels)
        return {**super().result(), "cluster_purity": purity(codes, labels), "cluster_nmi": nmi(codes, labels)}


class DiscreteLatentGAN(BiGANTraining):
    """The discrete-latent GAN of Donahue thesis ch. 6 (`gan_discrete_latent_mlp`): z = [one-hot(K),
    U(-1, 1)^d] (G scales the one-hot by alpha itself), G and D as a standard GAN, E trained jointly on
    E(G(z)) (discrete_code_loss). Evaluation reports how E's categorical code clusters the real
    examples against their labels."""

    name = "gan_discrete_latent"
    metrics = AdversarialGeneration.metrics + ("cluster_purity", "cluster_nmi")

    def __init__(self, noise=None, seed=0, categories=None):
        super().__init__(noise, seed)
        self.categories = categories

    def bind(self, recipe, info, load, model=None):
        if model is None:
            return self
        return DiscreteLatentGAN(noise_shape(model), recipe.train.seed, code_categories(model))

    def draw_noise(self, shape, seed):
        return discrete_prior(shape, seed, self.categories)

    def eval_example_to_xy(self, contract):
        to_xy = super().eval_example_to_xy(contract)

        def with_label(ex):
            inputs, _ = to_xy(ex)
            return inputs, tf.cast(ex["label"], tf.int32)

        return with_label

    def adversarial_losses(self, model, batch, *, seed, global_batch_size):
        x, _ = batch
        k = code_categories(model)
        z = discrete_prior([tf.shape(x)[0], *noise_shape(model)], seed, k)
        outputs = model({"image": x, "noise": z}, training=True)
        d, g = gan_losses(outputs["real"], outputs["fake"], global_batch_size)
        code = model.get_layer("encoder")(tf.stop_gradient(outputs["generated"]), training=True)
        return {"discriminator": d, "generator": g, "encoder": discrete_code_loss(code, z, k, global_batch_size)}

    def evaluator(self, model, ignore_label=255, eval_cfg=None):
        return DiscreteCodeEvaluator(code_categories(model))


TASKS = (AdversarialGeneration(), BiGANTraining(), Autoencoder("l2"), Autoencoder("l1"), DiscreteLatentGAN())
