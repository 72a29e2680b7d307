"""Every lead-in the grammar knows, each comment wrong; the fix keeps the words around the shape."""
import torch.nn as nn

encoder = nn.Sequential(
    # input: 3 x 128 x 128
    nn.Conv2d(3, 16, 3, 1, 1),
    # state size. 16 x 128 x 128
    nn.Conv2d(16, 16, 4, 2, 1),
    # State size: 16 x 64 x 64
    nn.Conv2d(16, 16, 4, 2, 1),
    # out size. (16) x 32 x 32
    nn.Conv2d(16, 32, 4, 2, 1),
    # output: 32 x 16 x 16
    nn.Conv2d(32, 32, 3, 1, 1),
    # Output Size: 32 x 16 x 16
    nn.Conv2d(32, 32, 1),
    # out: 32 x 16 x 16
    nn.Conv2d(32, 48, 1),
    # -> 48 x 16 x 16
    nn.Conv2d(48, 48, 1),
    # => 48 x 16 x 16
    nn.Conv2d(48, 64, 1),
    # shape: 64 x 16 x 16
    nn.Conv2d(64, 64, 1),
    # → 64 x 16 x 16
    nn.Conv2d(64, 64, 1),
    # --> 64 x 16 x 16
    nn.Conv2d(64, 64, 1),
    # output is (N, 64, 16, 16)
    nn.Conv2d(64, 64, 3, 2, 1),
    # size: 8 x 8
)
