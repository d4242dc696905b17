"""The reference math runs on a device array unchanged: every model family trains a step on the
"strict" test device (an array that refuses any copy to the host, as CuPy's does) to the CPU's
weights, and the loader, optimizer state and checkpoints follow the module's device."""
import numpy as np
import pytest

import numpy_transformer as nt
from numpy_transformer.device import DeviceError, device_of, get_device, to_device, to_host
from numpy_transformer.testing.strict_array import HostCopyError, StrictArray

RNG = np.random.default_rng(0)
IDS = RNG.integers(0, 11, (2, 6))


def classify(model, x, y):
    criterion = nt.nn.CrossEntropyLoss()
    loss = criterion(model(x), y)
    model.backward(criterion.backward())
    return loss


def language(model, ids, targets, **kwargs):
    criterion = nt.nn.CrossEntropyLoss()
    logits = model(ids, **kwargs)
    logits = logits[0] if isinstance(logits, tuple) else logits
    loss = criterion(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
    model.backward(criterion.backward().reshape(logits.shape))
    return loss


def gan_step(model, z, _):
    criterion = nt.nn.BCEWithLogitsLoss()
    logits = model.discriminator(model.generator(z))
    loss = criterion(logits, np.ones_like(logits))
    model.generator.backward(model.discriminator.backward(criterion.backward()))
    return loss


FAMILIES = {
    "mlp": (lambda: nt.models.MLP((6, 8, 3)), classify,
            (RNG.standard_normal((4, 6)), np.arange(4) % 3)),
    "cnn": (lambda: nt.models.CNN(1, 3, image_size=8), classify,
            (RNG.standard_normal((2, 1, 8, 8)), np.array([0, 2]))),
    "vit": (lambda: nt.models.ViT(image_size=8, patch_size=4, num_classes=3, dim=8, depth=1,
                                  heads=2, mlp_dim=16), classify,
            (RNG.standard_normal((2, 1, 8, 8)), np.array([1, 2]))),
    "gpt": (lambda: nt.models.GPT(nt.models.GPTConfig(vocab_size=11, block_size=8, n_layer=1,
                                                      n_head=2, n_embd=8)), language,
            (IDS, np.roll(IDS, 1, axis=1))),
    "rnn": (lambda: nt.models.RNNLanguageModel(11, embed_dim=8, hidden_size=8), language,
            (IDS, np.roll(IDS, 1, axis=1))),
    "bert": (lambda: nt.models.BERT(nt.models.BERTConfig(vocab_size=11, max_len=6, dim=8,
                                                         depth=1, heads=2, ff_dim=16,
                                                         dropout=0.0)), language,
             (IDS, np.roll(IDS, 1, axis=1))),
    "gan": (lambda: nt.models.GAN(nt.models.GANConfig(latent_dim=4, width=2, image_size=8)),
            gan_step, (RNG.standard_normal((3, 4)), None)),
}


def cuda_available() -> bool:
    try:
        get_device("cuda")
    except DeviceError:
        return False
    return True


DEVICES = ["strict"] + (["cuda"] if cuda_available() else [])    # cuda: benchmarks/gpu_check.sh


@pytest.fixture(autouse=True)
def reference_kernels():
    with nt.kernels.using("reference"):           # a device runs the reference (or its own)
        yield


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("family", list(FAMILIES))
def test_a_training_step_on_the_device_matches_the_cpu(family, device):
    build, step, (x, y) = FAMILIES[family]
    x = x.astype(np.float32) if x.dtype == np.float64 else x
    nt.manual_seed(0)
    on_cpu = build()
    on_device = build()
    on_device.load_state_dict({k: v.copy() for k, v in on_cpu.state_dict().items()})
    on_device.to(device)
    assert on_device.device == device
    array_type = get_device(device).array_type
    results = []
    for model, where in ((on_cpu, "cpu"), (on_device, device)):
        optimizer = nt.optim.AdamW(model.parameters(), lr=1e-2)
        inputs = [to_device(a, where) if a is not None else None for a in (x, y)]
        nt.manual_seed(1)                              # the same dropout masks on both
        with nt.kernels.using("cuda" if where == "cuda" else "reference"):
            loss = step(model, *inputs)
            optimizer.step()
        results.append((float(loss), model, optimizer))
    (loss_cpu, _, _), (loss_device, model, optimizer) = results
    assert loss_device == pytest.approx(loss_cpu, rel=1e-5)
    for (name, a), (_, b) in zip(on_cpu.named_parameters(), model.named_parameters()):
        assert isinstance(b.data, array_type) and isinstance(b.grad, array_type), name
        np.testing.assert_allclose(to_host(b.data), a.data, rtol=1e-4, atol=1e-5, err_msg=name)
    for state in optimizer.state.values():
        assert all(isinstance(v, array_type) for v in state.values() if hasattr(v, "shape"))


def test_the_double_refuses_a_copy_to_the_host_and_a_host_operand():
    x = to_device(np.ones(3, np.float32), "strict")
    with pytest.raises(HostCopyError):
        np.asarray(x)
    with pytest.raises(HostCopyError):
        x + np.ones(3, np.float32)
    assert float((x * 2).sum()) == 6.0 and isinstance(np.zeros_like(x), StrictArray)


def test_a_model_moves_to_the_device_and_back_keeping_its_weights():
    model = nt.models.MLP((4, 5, 2))
    before = {k: v.copy() for k, v in model.state_dict().items()}
    model.to("strict").to("cpu")
    assert model.device == "cpu"
    for key, value in model.state_dict().items():
        assert type(value) is np.ndarray
        np.testing.assert_array_equal(value, before[key])


def test_the_loader_yields_batches_on_its_device():
    data = nt.data.ArrayDataset(np.zeros((10, 3), np.float32), np.arange(10))
    x, y = next(iter(nt.data.DataLoader(data, batch_size=4, device="strict")))
    assert device_of(x).name == device_of(y).name == "strict"


def test_a_checkpoint_written_from_the_device_loads_on_the_cpu_and_back(tmp_path):
    nt.manual_seed(0)
    model = nt.models.MLP((4, 5, 2)).to("strict")
    optimizer = nt.optim.Adam(model.parameters())
    classify(model, to_device(np.ones((2, 4), np.float32), "strict"),
             to_device(np.array([0, 1]), "strict"))
    optimizer.step()
    path = tmp_path / "checkpoint.safetensors"
    nt.train.save_checkpoint(path, {"model": model}, {"optimizer": optimizer})
    cpu_model = nt.models.MLP((4, 5, 2))
    cpu_optimizer = nt.optim.Adam(cpu_model.parameters())
    nt.train.restore(nt.train.load_checkpoint(path), {"model": cpu_model},
                     {"optimizer": cpu_optimizer})
    for (name, a), (_, b) in zip(model.named_parameters(), cpu_model.named_parameters()):
        np.testing.assert_array_equal(b.data, to_host(a.data), err_msg=name)
    back = nt.models.MLP((4, 5, 2)).to("strict")
    back_optimizer = nt.optim.Adam(back.parameters())
    nt.train.restore(nt.train.load_checkpoint(path), {"model": back}, {"optimizer": back_optimizer})
    assert all(isinstance(v, StrictArray) for s in back_optimizer.state.values()
               for v in s.values() if hasattr(v, "shape"))


def test_cuda_without_a_gpu_is_a_clear_device_error():
    try:
        get_device("cuda")
    except DeviceError as error:
        assert "cuda" in str(error)
    else:
        pytest.skip("this machine has a CUDA GPU")
    with pytest.raises(DeviceError, match="unknown device 'tpu'"):
        get_device("tpu")


@pytest.fixture
def story(tmp_path):
    """A text file for the text recipes."""
    path = tmp_path / "story.txt"
    path.write_text("".join(f"{k} the quick brown fox jumps over the lazy dog\n" for k in range(80)))
    return str(path)


def built_on(device, recipe, text, **options):
    """The recipe's setup (its --data the text, if it takes data), seeded, on `device`."""
    from numpy_transformer.commands._options import place
    from numpy_transformer.recipes import get_recipe
    chosen = get_recipe(recipe)
    config = chosen.make_config(**options, **({chosen.data_field: text} if chosen.data_field else {}))
    nt.manual_seed(config.seed)
    setup = chosen.build(config)
    place(setup, device)
    return setup


@pytest.mark.parametrize("recipe, options", [
    ("digits", {}),
    ("gpt-shakespeare", {"n_layer": 1, "n_embd": 16, "n_head": 2, "block_size": 16,
                         "warmup_steps": 1}),
])
def test_a_recipe_trains_on_the_device_as_on_the_cpu(recipe, options, story):
    weights = []
    for device in ("cpu", "strict"):
        setup = built_on(device, recipe, story, steps=3, **options)
        trainer = nt.train.Trainer(setup.task, setup.train_loader, setup.eval_loader, steps=3,
                                   progress=False, tune_cpu=False)
        metrics = trainer.fit()
        assert all(np.isfinite(v) for v in metrics.values())
        weights.append({k: to_host(v) for m in setup.task.modules.values()
                        for k, v in m.state_dict().items()})
    for key, value in weights[0].items():
        np.testing.assert_allclose(weights[1][key], value, rtol=1e-5, atol=1e-6, err_msg=key)


@pytest.mark.parametrize("recipe, options", [
    ("gpt-shakespeare", {"n_layer": 1, "n_embd": 16, "n_head": 2, "block_size": 16}),
    ("rnn-lm", {"embed_dim": 16, "hidden_size": 16, "seq_len": 8}),
])
def test_a_language_model_writes_the_same_text_on_the_device(recipe, options, story):
    from numpy_transformer.recipes import get_recipe
    written = []
    for device in ("cpu", "strict"):
        setup = built_on(device, recipe, story, steps=1, **options)
        written.append(get_recipe(recipe).hooks["generate"](setup, "the ", 12, seed=3,
                                                            on_token=lambda _: None))
    assert written[0] == written[1] and len(written[0]) > 0
