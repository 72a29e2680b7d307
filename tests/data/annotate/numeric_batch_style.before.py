"""Comments written as (N, C, H, W) with numbers: new ones follow, numbers and all."""
import torch.nn as nn

width = 32

classifier = nn.Sequential(
    # (N, 3, 32, 32)
    nn.Conv2d(3, width, kernel_size=3, padding=1),
    nn.BatchNorm2d(width),
    nn.ReLU(inplace=True),
    nn.MaxPool2d(2),
    # (N, 32, 16, 16)
    nn.Conv2d(width, width * 2, kernel_size=3, padding=1),
    nn.ReLU(inplace=True),
    nn.Dropout(0.25),
    nn.MaxPool2d(2),
    nn.Flatten(),
    nn.Linear(width * 2 * 8 * 8, 128),
    nn.ReLU(inplace=True),
    nn.Linear(128, 10),
)
