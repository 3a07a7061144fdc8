"""A 784-250-100-10 ReLU MLP on MNIST with Adam and a one-cycle learning rate: >= 97.5% test
accuracy in 2 epochs.

    python examples/mnist_mlp.py [--backend auto] [--epochs 2] [--mini] [--data-dir DIR]

Uses the full MNIST from $FASTNN_DATA (or --data-dir); ``--mini`` uses the 10,000-digit
subset shipped inside fastnn instead, so it runs on a machine with no data.
"""
import argparse
import time

import fastnn
import fastnn.nn as nn
from fastnn.data import MNIST, DataLoader
from fastnn.data import transforms as T
from fastnn.models import mlp
from fastnn.training import evaluate


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3, help="peak learning rate of the one-cycle schedule")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mini", action="store_true", help="use the embedded 10k-digit subset")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args(argv)

    fastnn.set_backend(args.backend)
    fastnn.manual_seed(args.seed)
    transform = T.Compose([T.ToFloat(), T.Normalize((0.1307,), (0.3081,))])
    subset = {"subset": "mini"} if args.mini else {"root": args.data_dir}
    train_set = MNIST(train=True, transform=transform, **subset)
    test_set = MNIST(train=False, transform=transform, **subset)
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, seed=args.seed)
    test_loader = DataLoader(test_set, batch_size=1000)

    model = mlp()
    optimizer = fastnn.optim.Adam(model.parameters(), lr=args.lr)
    # warm up, then anneal: with the same Adam at a constant 1e-3 both fastnn and PyTorch stop near 97.0%
    scheduler = fastnn.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, epochs=args.epochs,
                                                     steps_per_epoch=len(train_loader))
    loss_fn = nn.CrossEntropyLoss()
    print(f"backend {fastnn.backends.get().name}, {len(train_set)} training digits")
    for epoch in range(args.epochs):
        start = time.perf_counter()
        model.train()
        for x, y in train_loader:
            loss = loss_fn(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
        result = evaluate(model, test_loader, loss_fn)
        print(f"epoch {epoch + 1}: test loss {result['loss']:.4f}, test accuracy {result['accuracy']:.2%}, "
              f"{time.perf_counter() - start:.1f}s")
    return result["accuracy"]


if __name__ == "__main__":
    main()
