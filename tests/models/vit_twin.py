"""The PyTorch twin of nt.models.ViT, built from torch.nn layers with the same parameter names."""
import torch


class TorchViT(torch.nn.Module):
    """[Conv2d stem], Conv2d patches, class token, positions, pre-norm encoder, linear head."""

    def __init__(self, c):
        super().__init__()
        self.pool = c.pool
        if c.stem_channels:
            activation = torch.nn.GELU() if c.activation == "gelu" else torch.nn.ReLU()
            self.stem = torch.nn.Sequential(torch.nn.Conv2d(c.in_channels, c.stem_channels, 3,
                                                            padding=1), activation)
        self.patch_embed = torch.nn.Conv2d(c.stem_channels or c.in_channels, c.dim, c.patch_size,
                                           stride=c.patch_size)
        tokens = (c.image_size // c.patch_size) ** 2 + (c.pool == "cls")
        if c.pool == "cls":
            self.cls_token = torch.nn.Parameter(torch.zeros(1, 1, c.dim))
        self.pos_embedding = torch.nn.Parameter(torch.zeros(1, tokens, c.dim))
        self.emb_dropout = torch.nn.Dropout(c.emb_dropout)
        layer = torch.nn.TransformerEncoderLayer(c.dim, c.heads, c.mlp_dim, c.dropout, c.activation,
                                                 batch_first=True, norm_first=True)
        self.encoder = torch.nn.TransformerEncoder(layer, c.depth, torch.nn.LayerNorm(c.dim),
                                                   enable_nested_tensor=False)
        self.head = torch.nn.Linear(c.dim, c.num_classes)

    def forward(self, x):
        x = self.stem(x) if hasattr(self, "stem") else x
        tokens = self.patch_embed(x).flatten(2).transpose(1, 2)   # [N, E, h, w] -> [N, P, E]
        if self.pool == "cls":
            tokens = torch.cat([self.cls_token.expand(len(x), -1, -1), tokens], dim=1)
        h = self.encoder(self.emb_dropout(tokens + self.pos_embedding))
        return self.head(h[:, 0] if self.pool == "cls" else h.mean(dim=1))
