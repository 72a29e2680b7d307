import torch.nn as nn

width = 32


class Stem(nn.Module):
    def __init__(self, use_pool):
        super().__init__()
        self.body = nn.Sequential(
            # input: 3 x 64 x 64
            nn.Conv2d(3, width, 3, 2, 1),
            # 32 x 32 x 32
            nn.ReLU(),
            nn.Conv2d(width, 64, 3, 2, 1),  # 64 x 8 x 8
            Mystery(64),
            # 64 x 16 x 16
            nn.Conv2d(64, 64, 3, 1, 1),  # 64 x 4 x 4  # noqa: CVS101
        )
        self.head = nn.Sequential(
            nn.Identity(),
            # 64 x 4 x 4
            nn.Flatten(),
        )



def tail(use_pool):
    return nn.Sequential(
        # input: 64 x 16 x 16
        nn.Conv2d(64, 64, 3, 1, 1),
        nn.MaxPool2d(2) if use_pool else nn.Identity(),  # 64 x 8 x 8
    )
