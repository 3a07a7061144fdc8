# Source: "Learn the Basics" -- Optimizing Model Parameters
#   https://github.com/pytorch/tutorials/blob/main/beginner_source/basics/optimization_tutorial.py
#   https://pytorch.org/tutorials/beginner/basics/optimization_tutorial.html
# Copyright (c) PyTorch contributors, BSD-3-Clause (the pytorch/tutorials licence).
# The code is verbatim except for lines marked "# CHANGED:":
#   - a fixed seed (torch.manual_seed(0)) after the imports;
#   - data: root="data" -> $FASTNN_DATA, download=True -> download=False; and
#     FashionMNIST -> MNIST, because the Fashion-MNIST image files are not available
#     offline here (same IDX format, shapes, dtypes and 10 classes);
#   - budget: the first 30,000 training and 2,000 test images (torch.utils.data.Subset),
#     and 2 epochs instead of 10.
# Prose comments abridged. Needs torchvision (fastnn.vision).
"""
Optimizing Model Parameters
===========================

Now that we have a model and data it's time to train, validate and test our model by optimizing its parameters on
our data.
"""

import os  # CHANGED: for $FASTNN_DATA
import torch
from torch import nn
from torch.utils.data import DataLoader
from torch.utils.data import Subset  # CHANGED: budget
from torchvision import datasets
from torchvision.transforms import ToTensor

torch.manual_seed(0)  # CHANGED: fixed seed
DATA = os.environ.get("FASTNN_DATA", "data")  # CHANGED: data path

training_data = datasets.MNIST(  # CHANGED: datasets.FashionMNIST (not available offline)
    root=DATA,  # CHANGED: root="data"
    train=True,
    download=False,  # CHANGED: download=True
    transform=ToTensor()
)

test_data = datasets.MNIST(  # CHANGED: datasets.FashionMNIST (not available offline)
    root=DATA,  # CHANGED: root="data"
    train=False,
    download=False,  # CHANGED: download=True
    transform=ToTensor()
)
training_data = Subset(training_data, range(30000))  # CHANGED: budget
test_data = Subset(test_data, range(2000))  # CHANGED: budget

train_dataloader = DataLoader(training_data, batch_size=64)
test_dataloader = DataLoader(test_data, batch_size=64)

class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28*28, 512),
            nn.ReLU(),
            nn.Linear(512, 512),
            nn.ReLU(),
            nn.Linear(512, 10),
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits

model = NeuralNetwork()


##############################################
# Hyperparameters
# -----------------

learning_rate = 1e-3
batch_size = 64
epochs = 5


#####################################
# Loss Function
# ~~~~~~~~~~~~~~~~~

# Initialize the loss function
loss_fn = nn.CrossEntropyLoss()


#####################################
# Optimizer
# ~~~~~~~~~~~~~~~~~

optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)


########################################
# Full Implementation
# -----------------------

def train_loop(dataloader, model, loss_fn, optimizer):
    size = len(dataloader.dataset)
    # Set the model to training mode - important for batch normalization and dropout layers
    # Unnecessary in this situation but added for best practices
    model.train()
    for batch, (X, y) in enumerate(dataloader):
        # Compute prediction and loss
        pred = model(X)
        loss = loss_fn(pred, y)

        # Backpropagation
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

        if batch % 100 == 0:
            loss, current = loss.item(), batch * batch_size + len(X)
            print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")


def test_loop(dataloader, model, loss_fn):
    # Set the model to evaluation mode - important for batch normalization and dropout layers
    # Unnecessary in this situation but added for best practices
    model.eval()
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    test_loss, correct = 0, 0

    # Evaluating the model with torch.no_grad() ensures that no gradients are computed during test mode
    # also serves to reduce unnecessary gradient computations and memory usage for tensors with requires_grad=True
    with torch.no_grad():
        for X, y in dataloader:
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()

    test_loss /= num_batches
    correct /= size
    print(f"Test Error: \n Accuracy: {(100*correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")


########################################
# We initialize the loss function and optimizer, and pass it to ``train_loop`` and ``test_loop``.

loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)

epochs = 2  # CHANGED: budget (10 in the tutorial)
for t in range(epochs):
    print(f"Epoch {t+1}\n-------------------------------")
    train_loop(train_dataloader, model, loss_fn, optimizer)
    test_loop(test_dataloader, model, loss_fn)
print("Done!")
