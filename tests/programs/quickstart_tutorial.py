# Source: "Learn the Basics" -- Quickstart
#   https://github.com/pytorch/tutorials/blob/main/beginner_source/basics/quickstart_tutorial.py
#   https://pytorch.org/tutorials/beginner/basics/quickstart_tutorial.html
# Copyright (c) PyTorch contributors, BSD-3-Clause (the pytorch/tutorials licence).
# The code is verbatim except for lines marked "# CHANGED:":
#   - a fixed seed (torch.manual_seed(0)) after the imports;
#   - data: root="data" -> $FASTNN_DATA, download=True -> download=False; and
#     FashionMNIST -> MNIST, because the Fashion-MNIST image files are not available
#     offline here (same IDX format, shapes, dtypes and 10 classes; the printed
#     class names below stay Fashion-MNIST's, as in the tutorial);
#   - budget: 1 epoch instead of 5 (over all 60,000 training images), and only the
#     first 2,000 test images (torch.utils.data.Subset).
# Prose comments abridged. Needs torchvision (fastnn.vision).
"""
Quickstart
===================
This section runs through the API for common tasks in machine learning.
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

# Download training data from open datasets.
training_data = datasets.MNIST(  # CHANGED: datasets.FashionMNIST (not available offline)
    root=DATA,  # CHANGED: root="data"
    train=True,
    download=False,  # CHANGED: download=True
    transform=ToTensor(),
)

# Download test data from open datasets.
test_data = datasets.MNIST(  # CHANGED: datasets.FashionMNIST (not available offline)
    root=DATA,  # CHANGED: root="data"
    train=False,
    download=False,  # CHANGED: download=True
    transform=ToTensor(),
)
test_data = Subset(test_data, range(2000))  # CHANGED: budget

######################################################################
# We pass the ``Dataset`` as an argument to ``DataLoader``. This wraps an iterable over our dataset, and supports
# automatic batching, sampling, shuffling and multiprocess data loading. Here we define a batch size of 64, i.e. each element
# in the dataloader iterable will return a batch of 64 features and labels.

batch_size = 64

# Create data loaders.
train_dataloader = DataLoader(training_data, batch_size=batch_size)
test_dataloader = DataLoader(test_data, batch_size=batch_size)

for X, y in test_dataloader:
    print(f"Shape of X [N, C, H, W]: {X.shape}")
    print(f"Shape of y: {y.shape} {y.dtype}")
    break

################################
# Creating Models
# ------------------

# Get cpu, gpu or mps device for training.
device = (
    "cuda"
    if torch.cuda.is_available()
    else "mps"
    if torch.backends.mps.is_available()
    else "cpu"
)
print(f"Using {device} device")

# Define model
class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28*28, 512),
            nn.ReLU(),
            nn.Linear(512, 512),
            nn.ReLU(),
            nn.Linear(512, 10)
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits

model = NeuralNetwork().to(device)
print(model)


#####################################################################
# Optimizing the Model Parameters
# ----------------------------------------

loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)


def train(dataloader, model, loss_fn, optimizer):
    size = len(dataloader.dataset)
    model.train()
    for batch, (X, y) in enumerate(dataloader):
        X, y = X.to(device), y.to(device)

        # Compute prediction error
        pred = model(X)
        loss = loss_fn(pred, y)

        # Backpropagation
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

        if batch % 100 == 0:
            loss, current = loss.item(), (batch + 1) * len(X)
            print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")


def test(dataloader, model, loss_fn):
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    model.eval()
    test_loss, correct = 0, 0
    with torch.no_grad():
        for X, y in dataloader:
            X, y = X.to(device), y.to(device)
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    test_loss /= num_batches
    correct /= size
    print(f"Test Error: \n Accuracy: {(100*correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")


epochs = 1  # CHANGED: budget (5 in the tutorial)
for t in range(epochs):
    print(f"Epoch {t+1}\n-------------------------------")
    train(train_dataloader, model, loss_fn, optimizer)
    test(test_dataloader, model, loss_fn)
print("Done!")

######################################################################
# Saving Models
# -------------

torch.save(model.state_dict(), "model.pth")
print("Saved PyTorch Model State to model.pth")


######################################################################
# Loading Models
# ----------------------------

model = NeuralNetwork().to(device)
model.load_state_dict(torch.load("model.pth", weights_only=True))

#############################################################
# This model can now be used to make predictions.

classes = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]

model.eval()
x, y = test_data[0][0], test_data[0][1]
with torch.no_grad():
    x = x.to(device)
    pred = model(x)
    predicted, actual = classes[pred[0].argmax(0)], classes[y]
    print(f'Predicted: "{predicted}", Actual: "{actual}"')
