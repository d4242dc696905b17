"""nt.models.GAN and the GAN training step against PyTorch: layers, two-call discriminator, whole steps."""
import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import numpy_transformer as nt
from numpy_transformer.models import GAN, GANConfig, Discriminator, Generator
from numpy_transformer.recipes.gan import GANTask
from numpy_transformer.testing import check_module_gradients, compare_with_torch
from tests.models.gan_twin import TorchGANStep, copy_weights, torch_discriminator, torch_generator

configs = st.builds(GANConfig, latent_dim=st.integers(1, 6), width=st.integers(1, 4),
                    image_channels=st.integers(1, 2), image_size=st.sampled_from([4, 8, 12]),
                    refine=st.integers(0, 2), disc_refine=st.integers(0, 2))


@pytest.mark.fast_too
@given(config=configs, batch=st.integers(2, 4), seed=st.integers(0, 2**16),
       dtype=st.sampled_from([np.float64, np.float32]))
def test_generator_matches_torch(config, batch, seed, dtype):
    z = np.random.default_rng(seed).standard_normal((batch, config.latent_dim))
    compare_with_torch(Generator(config), torch_generator(config), z, dtype=dtype, seed=seed)


@pytest.mark.fast_too
@given(config=configs, batch=st.integers(2, 4), seed=st.integers(0, 2**16),
       dtype=st.sampled_from([np.float64, np.float32]))
def test_discriminator_matches_torch(config, batch, seed, dtype):
    size, channels = config.image_size, config.image_channels
    x = np.random.default_rng(seed).uniform(-1, 1, (batch, channels, size, size))
    compare_with_torch(Discriminator(config), torch_discriminator(config), x, dtype=dtype, seed=seed)


def test_generator_and_discriminator_gradients_match_finite_differences(rng):
    config = GANConfig(latent_dim=3, width=2, image_size=8, refine=1, disc_refine=1)
    check_module_gradients(Generator(config), rng.standard_normal((3, 3)))
    check_module_gradients(Discriminator(config), rng.uniform(-1, 1, (3, 1, 8, 8)))


@given(batch=st.integers(2, 5), seed=st.integers(0, 2**16))
def test_discriminator_called_on_real_then_fake_backpropagates_last_call_first(batch, seed):
    """The D step's two calls (each with its own batch statistics) against torch summing both losses."""
    rng = np.random.default_rng(seed)
    config = GANConfig(width=3, image_size=8)
    D = Discriminator(config).double()
    for param in D.parameters():
        param.data += 0.1 * rng.standard_normal(param.shape)
    twin = torch_discriminator(config).double()
    copy_weights(D, twin)
    real, fake = rng.uniform(-1, 1, (2, batch, 1, 8, 8))
    criterion = nt.nn.BCEWithLogitsLoss()

    real_logits = D(real)
    loss_real = criterion(real_logits, np.ones_like(real_logits))
    fake_logits = D(fake)
    loss_fake = criterion(fake_logits, np.zeros_like(fake_logits))
    d_fake = D.backward(criterion.backward())           # the last call first
    d_real = D.backward(criterion.backward())

    t_real, t_fake = (torch.from_numpy(a).requires_grad_() for a in (real, fake))
    t_real_logits, t_fake_logits = twin(t_real), twin(t_fake)
    criterion_t = torch.nn.BCEWithLogitsLoss()
    t_loss = (criterion_t(t_real_logits, torch.ones_like(t_real_logits))
              + criterion_t(t_fake_logits, torch.zeros_like(t_fake_logits)))
    t_loss.backward()

    assert float(loss_real + loss_fake) == pytest.approx(t_loss.item(), rel=1e-12)
    np.testing.assert_allclose(d_real, t_real.grad.numpy(), rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(d_fake, t_fake.grad.numpy(), rtol=1e-6, atol=1e-12)
    t_params = dict(twin.named_parameters())
    for name, param in D.named_parameters():
        np.testing.assert_allclose(param.grad, t_params[name].grad.numpy(), rtol=1e-6, atol=1e-12,
                                   err_msg=name)
    t_buffers = dict(twin.named_buffers())                # running statistics: updated twice
    for name, buffer in D.named_buffers():
        np.testing.assert_allclose(buffer, t_buffers[name].numpy(), rtol=1e-12, err_msg=name)


def _assert_same_weights(ours, theirs, step):
    """Every parameter and batch-norm statistic of one network equals the torch twin's."""
    t_state = theirs.state_dict()
    for name, value in ours.state_dict().items():
        np.testing.assert_allclose(value, t_state[name].numpy(), rtol=1e-6, atol=1e-12,
                                   err_msg=f"{name} after step {step}")


@pytest.mark.fast_too
@pytest.mark.parametrize("real_label", [1.0, 0.9])
def test_gan_steps_match_pytorch_dcgan_steps(real_label):
    """D step (real and detached fake) then G step (through D), three times, from the same weights,
    on the same real batches and noise: every parameter of G and D agrees after each step."""
    rng = np.random.default_rng(0)
    config = GANConfig(latent_dim=5, width=3, image_size=12)
    gan = GAN(config).double()
    task = GANTask(gan, lr=1e-2, betas=(0.5, 0.999), real_label=real_label)
    twin = TorchGANStep(gan, lr=1e-2, betas=(0.5, 0.999), real_label=real_label)
    for step in range(1, 4):
        real, noise = rng.uniform(-1, 1, (6, 1, 12, 12)), rng.standard_normal((6, 5))
        ours, theirs = task.step(real, noise), twin.step(real, noise)
        assert ours["d_loss"] == pytest.approx(theirs["d_loss"], rel=1e-6)
        assert ours["g_loss"] == pytest.approx(theirs["g_loss"], rel=1e-6)
        _assert_same_weights(gan.generator, twin.G, step)
        _assert_same_weights(gan.discriminator, twin.D, step)


def test_gan_step_uses_every_cache_and_leaves_no_discriminator_gradient():
    gan = GAN(GANConfig(latent_dim=4, width=2, image_size=8))
    task = GANTask(gan)
    before = {k: v.copy() for k, v in gan.state_dict().items()}
    metrics = task.train_step((np.zeros((4, 1, 8, 8), np.float32), np.zeros(4, np.int64)))
    assert all(not module._caches for module in gan.modules())
    assert all(not np.any(p.grad) for p in gan.discriminator.parameters())
    assert all(np.any(p.grad) for p in gan.generator.parameters())   # kept for inspection
    changed = {k for k, v in gan.state_dict().items() if not np.array_equal(v, before[k])}
    assert {k for k, _ in gan.named_parameters()} <= changed
    assert set(metrics) == {"loss", "d_loss", "g_loss", "d_real", "d_fake"}
    assert 0 < metrics["d_real"] < 1 and 0 < metrics["d_fake"] < 1


def test_moving_average_generator_averages_the_weights_and_draws_the_samples():
    gan = GAN(GANConfig(latent_dim=4, width=2, image_size=8))
    task = GANTask(gan, ema_decay=0.9)
    start = {name: p.data.copy() for name, p in gan.generator.named_parameters()}
    task.train_step(np.random.default_rng(0).uniform(-1, 1, (4, 1, 8, 8)).astype(np.float32))
    for (name, average), weight in zip(task.generator_ema.named_parameters(), gan.generator.parameters()):
        np.testing.assert_allclose(average.data, 0.9 * start[name] + 0.1 * weight.data, rtol=1e-6)
    for (name, average), (_, statistic) in zip(task.generator_ema.named_buffers(),
                                               gan.generator.named_buffers()):
        np.testing.assert_array_equal(average, statistic)
    z = gan.noise(3)
    task.generator_ema.eval()
    with nt.no_grad():
        expected = (task.generator_ema(z) + 1) / 2
    np.testing.assert_allclose(task.sample(noise=z), expected, rtol=1e-6)
    assert "generator_ema" in task.modules                         # checkpointed with the rest
    with pytest.raises(ValueError, match="ema_decay"):
        GANTask(GAN(GANConfig(latent_dim=4, width=2, image_size=8)), ema_decay=1.0)


def test_float32_model_keeps_float32_everywhere():
    gan = GAN(GANConfig(latent_dim=4, width=2, image_size=8))
    z = gan.noise(3)
    assert z.dtype == np.float32 and z.shape == (3, 4)
    images = gan(z)
    assert images.dtype == np.float32 and images.shape == (3, 1, 8, 8)
    assert np.abs(images).max() <= 1.0
    logits = gan.discriminator(images)
    assert logits.dtype == np.float32 and logits.shape == (3, 1)
    assert gan.discriminator.backward(np.ones_like(logits)).dtype == np.float32
    assert gan.backward(np.ones_like(images)).dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in gan.parameters())


def test_default_gan_draws_mnist_sized_images_and_names_layers_like_the_twin():
    gan = GAN()
    assert gan(gan.noise(2)).shape == (2, 1, 28, 28)
    assert list(gan.generator.state_dict()) == list(torch_generator(gan.config).state_dict())
    assert list(gan.discriminator.state_dict()) == list(torch_discriminator(gan.config).state_dict())


def test_dcgan_initialisation():
    gan = GAN(GANConfig(width=16))
    conv = gan.discriminator.conv2.weight.data
    assert abs(conv.std() - 0.02) < 0.002 and abs(conv.mean()) < 0.002
    assert abs(gan.generator.norm1.weight.data.mean() - 1) < 0.02
    assert not np.any(gan.generator.up2.bias.data)


def test_bad_configs_are_named():
    with pytest.raises(ValueError, match="image_size must be a positive multiple of 4, got 30"):
        GAN(GANConfig(image_size=30))
    with pytest.raises(ValueError, match="latent_dim, width and image_channels must be positive"):
        GAN(GANConfig(width=0))
    with pytest.raises(ValueError, match="refine"):
        GAN(GANConfig(refine=-1))
    with pytest.raises(ValueError, match="disc_refine must be >= 0, got 0, -1"):
        GAN(GANConfig(disc_refine=-1))


def test_wrong_inputs_name_the_layer_and_shapes():
    gan = GAN(GANConfig(latent_dim=4, width=2, image_size=8))
    with pytest.raises(ValueError, match=r"Linear\(in_features=4.*got shape \(2, 5\)"):
        gan.generator(np.zeros((2, 5), np.float32))
    with pytest.raises(ValueError, match=r"Conv2d.*1 channels.*got shape \(2, 3, 8, 8\)"):
        gan.discriminator(np.zeros((2, 3, 8, 8), np.float32))
    with pytest.raises(TypeError):
        gan.discriminator(np.zeros((2, 1, 8, 8), np.float64))
    with pytest.raises(RuntimeError, match="without a matching forward"):
        gan.discriminator.backward(np.zeros((2, 1), np.float32))



def test_evaluate_judges_with_batch_statistics_and_restores_the_running_ones():
    gan = GAN(GANConfig(latent_dim=4, width=2, image_size=8))
    task = GANTask(gan)
    rng = np.random.default_rng(0)
    task.step(rng.uniform(-1, 1, (4, 1, 8, 8)).astype(np.float32), gan.noise(4))
    before = {k: v.copy() for k, v in gan.state_dict().items()}
    real = rng.uniform(-1, 1, (6, 1, 8, 8)).astype(np.float32)
    metrics = task.evaluate([(real[:3], None), (real[3:], None)])
    for name, value in gan.state_dict().items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)
    assert all(not module._caches for module in gan.modules()) and gan.training
    with nt.no_grad():                                   # D in train mode: each batch's statistics
        logits = np.concatenate([gan.discriminator(real[:3]), gan.discriminator(real[3:])])
    assert metrics["d_real"] == pytest.approx(float(np.mean(1 / (1 + np.exp(-logits)))), rel=1e-5)
    assert set(metrics) == {"d_loss", "g_loss", "d_real", "d_fake"}
