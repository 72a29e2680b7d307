"""1d, 3d and flattened shapes; trailing shape comments describe their own layer."""
import torch.nn as nn

signal = nn.Sequential(
    # input: 1 x 128
    nn.Conv1d(1, 16, 5, stride=2, padding=2),  # -> 16 x 64
    nn.ReLU(),  # -> 16 x 64
    nn.MaxPool1d(2),  # -> 16 x 32
    # state size. 16 x 32
)

video = nn.Sequential(
    # input: (N, 3, 16, 112, 112)
    nn.Conv3d(3, 64, kernel_size=(3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3)),
    nn.ReLU(inplace=True),
    # output: (N, 64, 16, 56, 56)
)

head = nn.Sequential(
    # input: 64 x 8 x 8
    nn.Flatten(),
    # (N, 4096)
    nn.Linear(64 * 8 * 8, 256),
    # (N, 256)
)
