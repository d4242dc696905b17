"""RNN language model training step (forward + cross-entropy + backward) at the rnn-lm recipe's
size: LSTM 256 wide, tied 256-d embeddings, 1,388 words, batch 32 x 32 steps (float32)."""
import numpy as np

from ..harness import case

VOCAB, WIDTH, BATCH, STEPS = 1388, 256, 32, 32
# torch's flop counter does not see the LSTM (one oneDNN op), so its products are counted here:
# x W_ih^T and h W_hh^T at every step forward, twice that backward (input and weight gradients).
LSTM_FLOPS = 3 * 2 * STEPS * BATCH * 4 * WIDTH * (WIDTH + WIDTH)


def _batch():
    tokens = np.random.default_rng(0).integers(0, VOCAB, (BATCH, STEPS + 1))
    return tokens[:, :-1].copy(), tokens[:, 1:].copy()


@case("RNN LM train step LSTM 256 V1388 B32 T32", target=1.5, recipe="rnn-lm")
def rnn_lm_step(lib):
    x, y = _batch()
    if lib == "numpy":
        import numpy_transformer as nt
        model = nt.models.RNNLanguageModel(VOCAB, WIDTH, WIDTH, cell="lstm", tie_weights=True)
        criterion = nt.nn.CrossEntropyLoss()

        def step():
            model.zero_grad()
            logits, _ = model(x)
            criterion(logits.reshape(-1, VOCAB), y.reshape(-1))
            with nt.kernels.deferred_weight_grads():      # as the rnn-lm recipe's training step
                model.backward(criterion.backward().reshape(logits.shape))
        return step
    import torch

    class TorchRNNLM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Embedding(VOCAB, WIDTH)
            self.rnn = torch.nn.LSTM(WIDTH, WIDTH, batch_first=True)
            self.decoder = torch.nn.Linear(WIDTH, VOCAB)
            self.decoder.weight = self.embedding.weight

        def forward(self, ids):
            return self.decoder(self.rnn(self.embedding(ids))[0])

    model, tx, ty = TorchRNNLM(), torch.from_numpy(x), torch.from_numpy(y).reshape(-1)

    def step():
        model.zero_grad()
        torch.nn.functional.cross_entropy(model(tx).reshape(-1, VOCAB), ty).backward()
    step.uncounted_flops = LSTM_FLOPS
    return step
